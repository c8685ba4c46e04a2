"""Measuring: timing, memory, statistics, the results store, reports and plots.

Runs on the host and on the device, with numpy and a TFLite runtime alone: no TensorFlow here.
"""
