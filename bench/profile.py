"""Per-op times beside each op's MACs (``edgekit bench --profile-ops``).

The Python APIs of ai-edge-litert, tflite-runtime and tf.lite expose no op profiler (benchmark_model's
``--enable_op_profiling`` lives in C++ only), so each op is timed *in isolation*: a one-op model is cut
from the file (same weights, same quantization), loaded with the same threads and XNNPACK setting, and
its ``invoke()`` timed; the p50 is reported. Sums differ from the whole-model latency (no fusion, warm
caches), but the split between memory-bound ops (depthwise) and compute-bound ops (pointwise, dense)
shows clearly. When XNNPACK runs, the whole model collapses into delegate nodes; we say so.
"""

from __future__ import annotations

import copy

import numpy as np

from bench.loop import feed, time_calls
from edgekit.errors import first_line

METHOD = ("isolated: each op cut into a one-op model with its own weights and timed alone (p50); the "
          "runtime's Python API has no per-op profiler")


def delegate_nodes(interpreter) -> int:
    """How many delegate nodes (XNNPACK, Edge TPU) replaced ops in the execution plan."""
    try:
        return sum(1 for d in interpreter._get_ops_details() if d.get("op_name") == "DELEGATE")
    except Exception:  # a private API: absent or different in other runtimes
        return 0


def _one_op_model(model, schema, op_index: int) -> bytes:
    import flatbuffers

    sub = model.subgraphs[0]
    op = sub.operators[op_index]
    used = [i for i in list(op.inputs) + list(op.outputs) if i >= 0]
    keep_buffers = {sub.tensors[i].buffer for i in used}
    one = copy.copy(model)
    one.buffers = [b if i in keep_buffers or i == 0 else schema.BufferT() for i, b in enumerate(model.buffers)]
    one_sub = copy.copy(sub)
    one_sub.operators = [op]
    one_sub.inputs = [i for i in op.inputs if i >= 0 and not _constant(model, sub, i)]
    one_sub.outputs = list(op.outputs)
    one.subgraphs = [one_sub]
    one.signatureDefs = []
    builder = flatbuffers.Builder(1024)
    builder.Finish(one.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _constant(model, sub, tensor: int) -> bool:
    buf = model.buffers[sub.tensors[tensor].buffer]
    return buf.data is not None and len(buf.data) > 0


def profile_ops(path: str, interpreter_class, *, threads: int | None, resolver: dict, runs: int = 20) -> list[dict]:
    """Time every op of ``path``'s main subgraph alone; one row per op with its p50 in ms (None if it failed)."""
    from ai_edge_litert import schema_py_generated as schema

    with open(path, "rb") as f:
        buf = f.read()
    model = schema.ModelT.InitFromPackedBuf(buf, 0)
    rows = []
    for i in range(len(model.subgraphs[0].operators)):
        row = {"index": i, "ms": None}
        try:
            one = interpreter_class(model_content=_one_op_model(model, schema, i), num_threads=threads, **resolver)
            one.allocate_tensors()
            feed(one)
            row["ms"] = float(np.median(time_calls(one.invoke, warmup=2, min_runs=runs, min_seconds=0.0)))
        except Exception as err:  # an op that cannot run alone (control flow, custom op): say so, go on
            row["error"] = first_line(err)
        rows.append(row)
    return rows
