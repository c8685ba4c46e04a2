"""Keras and SavedModel to ``.tflite``: quantization, calibration data, the fidelity check and Edge TPU.

TensorFlow is imported here only inside functions, so importing this package stays cheap.
"""
