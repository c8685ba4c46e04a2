"""What a network costs: parameters, MACs, bytes and activation memory, layer by layer.

Works on a built Keras model (duck-typed, Keras is never imported here) and on a ``.tflite`` flatbuffer
(parsed without TensorFlow).
"""

from edgekit.analysis.cost_report import ACTIVATION_METHOD, CostReport, LayerCost
from edgekit.analysis.keras_cost import analyze_keras
from edgekit.analysis.tflite_cost import analyze_graph, analyze_tflite
from edgekit.analysis.tflite_graph import TFLiteGraph, parse_tflite, read_tflite

__all__ = ["ACTIVATION_METHOD", "CostReport", "LayerCost", "TFLiteGraph", "analyze_graph", "analyze_keras",
           "analyze_tflite", "parse_tflite", "read_tflite"]
