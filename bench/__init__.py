"""Measuring: timing, memory, statistics, the measuring loop (``bench.service``), the results store and CSV export.

Runs on the host and on the device, with numpy and a TFLite runtime alone: no TensorFlow here.
"""
