"""What quantization a ``.tflite`` file holds, read from its tensor types: one of edgekit's mode names
(``edgekit.quant_modes``), or ``uint8`` for the older uint8-quantized models.

The weights are read through DEQUANTIZE: a converter that keeps float16 (or int8) weights in the file and
widens them at load time feeds each convolution from a DEQUANTIZE op, so the convolution's own weight
input is float32 while the stored weights are float16 (MediaPipe's face detector is built this way).
"""

from __future__ import annotations

from edgekit.analysis.tflite_graph import TFLiteGraph
from edgekit.analysis.tflite_macs import RULES


def weight_dtypes(graph: TFLiteGraph) -> set[str]:
    """Stored dtypes of the weight inputs of the ops that multiply (input 1, or 2 when 1 is omitted)."""
    t = graph.tensors
    producer = {o: op for op in graph.ops for o in op.outputs if o >= 0}
    out = set()
    for op in graph.ops:
        if op.opcode not in RULES:
            continue
        index = next((i for i in op.inputs[1:3] if i >= 0), -1)
        if index < 0:
            continue
        source = producer.get(index)
        if source is not None and source.opcode == "DEQUANTIZE" and source.inputs and source.inputs[0] >= 0:
            index = source.inputs[0]
        out.add(t[index].dtype)
    return out


def infer_quant(graph: TFLiteGraph) -> str:
    """fp32, fp16, dynamic, int8, uint8 or int16x8.

    int16 activations with int8 weights are int16x8; an 8-bit input names the mode (int8 or uint8); uint8
    weights are the older uint8 scheme; int8 weights are int8 with int8 activations, else dynamic (float
    activations); float16 weights, stored or behind DEQUANTIZE, are fp16; anything else is fp32.
    """
    t = graph.tensors
    first_in = t[graph.inputs[0]].dtype if graph.inputs else "float32"
    weights = weight_dtypes(graph)
    acts = {x.dtype for x in t if not x.constant}
    if "int16" in acts and "int8" in weights:
        return "int16x8"
    if first_in in ("int8", "uint8"):
        return first_in
    if "uint8" in weights:
        return "uint8"
    if "int8" in weights:
        return "int8" if "int8" in acts else "dynamic"
    if "float16" in weights:
        return "fp16"
    return "fp32"
