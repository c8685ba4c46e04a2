"""Write ``tiny_int8_edgetpu.tflite``, a stand-in for what edgetpu_compiler makes of ``tiny_int8.tflite``.

edgetpu_compiler runs only on x86-64 Debian/Ubuntu with Coral's apt repository, so the fixture is built by
hand, as the compiler lays its output out (coral.ai/docs/edgetpu/compiler, "Compiler output"; the layout of
any ``*_edgetpu.tflite`` in github.com/google-coral/test_data): the ops it mapped are replaced by one CUSTOM
op whose custom code is ``edgetpu-custom-op`` and whose custom options hold the compiled program with the
parameters; the op it could not map stays a builtin op after it. Here CONV_2D, DEPTHWISE_CONV_2D, MEAN and
FULLY_CONNECTED become the Edge TPU op and SOFTMAX stays on the CPU. The custom options are placeholder bytes
(the weights of the replaced ops behind a made-up 8-byte header), not a program a TPU could run.

Run: ``python tests/data/make_edgetpu.py`` (needs ai-edge-litert and flatbuffers, no TensorFlow).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "tiny_int8.tflite"
OUT = HERE / "tiny_int8_edgetpu.tflite"
CUSTOM_CODE = b"edgetpu-custom-op"
MAPPED = 4  # the first 4 ops of tiny_int8 go into the Edge TPU op


def build(source: Path = SOURCE) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
    sub = model.subgraphs[0]
    mapped, kept = sub.operators[:MAPPED], sub.operators[MAPPED:]
    weights = b"".join(_data(model.buffers[sub.tensors[i].buffer])
                       for op in mapped for i in op.inputs if i >= 0)
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
    code.customCode = CUSTOM_CODE
    code.version = 1
    model.operatorCodes.append(code)
    tpu = s.OperatorT()
    tpu.opcodeIndex = len(model.operatorCodes) - 1
    tpu.inputs, tpu.outputs = [mapped[0].inputs[0]], [mapped[-1].outputs[0]]
    tpu.customOptions = list(b"EDGETPU\0" + weights)
    sub.operators = [tpu, *kept]
    _drop_unused_tensors(sub)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _data(buffer) -> bytes:
    return b"" if buffer.data is None else bytes(bytearray(buffer.data))


def _drop_unused_tensors(sub) -> None:
    """Keep only tensors an op or the graph's inputs/outputs name, and renumber the references."""
    used = sorted({i for op in sub.operators for i in [*op.inputs, *op.outputs] if i >= 0}
                  | set(sub.inputs) | set(sub.outputs))
    new = {old: k for k, old in enumerate(used)}
    sub.tensors = [sub.tensors[i] for i in used]
    for op in sub.operators:
        op.inputs = [new.get(i, -1) for i in op.inputs]
        op.outputs = [new[i] for i in op.outputs]
    sub.inputs, sub.outputs = [new[i] for i in sub.inputs], [new[i] for i in sub.outputs]


def main() -> None:
    OUT.write_bytes(build())


if __name__ == "__main__":
    main()
