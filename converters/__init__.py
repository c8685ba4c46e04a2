"""Keras and SavedModel to ``.tflite``: quantization, calibration data, the fidelity check and Edge TPU.

``convert(model_or_path, mode, calibration=..., ...) -> ConversionResult`` is the API; the modes live in
:mod:`edgekit.quant_modes`. TensorFlow is imported here only inside functions, so importing this package stays
cheap, and a cached conversion never loads it.
"""

from converters.convert import DEFAULT_SAMPLES, ConversionResult, convert
from edgekit.quant_modes import MODE_NAMES, MODES, QuantConfig, QuantMode

__all__ = ["DEFAULT_SAMPLES", "MODES", "MODE_NAMES", "ConversionResult", "QuantConfig", "QuantMode", "convert"]
