"""edgekit: take convolutional networks from Keras to mobile and embedded devices, and measure the cost.

The public API lives in the subpackages: :mod:`edgekit.models` (the zoo), :mod:`edgekit.analysis` (MACs,
params and memory) and :mod:`edgekit.runtime` (the on-device loader). Importing ``edgekit`` loads none of
them, and nothing here imports TensorFlow.
"""

__version__ = "0.1.0"
