"""Keras and SavedModel to ``.tflite``: quantization, calibration data, the fidelity check and Edge TPU.

``convert(model_or_path, mode, calibration=..., ...) -> ConversionResult`` is the API; the modes live in
:mod:`edgekit.quant_modes`. TensorFlow is imported here only inside functions, so importing this package stays
cheap, and a cached conversion never loads it.

The private TensorFlow names and undocumented behaviours the converters rely on, the TensorFlow versions they
support and what to run on an upgrade: :mod:`converters.tf_private`, the one module that touches them.
"""

from converters.convert import DEFAULT_SAMPLES, ConversionResult, convert
from edgekit.quant_modes import MODE_NAMES, MODES, QuantConfig, QuantMode

__all__ = ["DEFAULT_SAMPLES", "MODES", "MODE_NAMES", "ConversionResult", "QuantConfig", "QuantMode", "convert"]
