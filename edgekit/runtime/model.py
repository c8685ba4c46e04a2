"""``load()`` and ``EdgeModel``: run a ``.tflite`` file with numpy and one TFLite runtime.

The file is verified by the pure-Python flatbuffer reader before the C++ loader sees it, because that
loader can crash the process on a malformed file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgekit.analysis.tflite_graph import TFLiteGraph, read_tflite
from edgekit.errors import ModelFileError, UsageError
from edgekit.runtime.backends import Backend, get_backend, load_delegate
from edgekit.runtime.quant import dequantize, quantize
from edgekit.runtime.sidecar import Sidecar, read_sidecar


class Prediction(NamedTuple):
    label: str
    score: float


def check_threads(threads: int | None) -> int | None:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise UsageError(f"threads must be a whole number >= 1 (or None for the runtime's default), got {threads!r}")
    return threads


class EdgeModel:
    """A loaded, allocated model. Use :func:`load` to make one."""

    def __init__(self, path: Path, interpreter, graph: TFLiteGraph, backend: Backend, sidecar: Sidecar,
                 threads: int | None, xnnpack: bool, delegate: str | None):
        self.path, self.interpreter, self.graph, self.backend = path, interpreter, graph, backend
        self.sidecar, self.threads, self.xnnpack, self.delegate = sidecar, threads, xnnpack, delegate
        self._inputs = interpreter.get_input_details()
        self._outputs = interpreter.get_output_details()

    def input_details(self) -> list[dict]:
        return list(self._inputs)

    def output_details(self) -> list[dict]:
        return list(self._outputs)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.sidecar.labels

    def _fit(self, x, detail: dict) -> np.ndarray:
        x = np.asarray(x)
        want = tuple(int(d) for d in detail["shape"])
        if x.shape == want[1:] and want[:1] == (1,):
            x = x[None]
        if x.shape != want:
            raise UsageError(f"input {detail['name']!r} needs shape {list(want)}, got {list(x.shape)}; "
                             "pass one example (batch dimension optional) or a full batch")
        return x

    def predict_raw(self, *inputs):
        """Set the inputs as given (already in the model's dtype), invoke, return the raw outputs."""
        if len(inputs) != len(self._inputs):
            raise UsageError(f"the model takes {len(self._inputs)} input(s), got {len(inputs)}")
        for x, detail in zip(inputs, self._inputs, strict=True):
            x = self._fit(x, detail)
            if x.dtype != detail["dtype"]:
                raise UsageError(f"input {detail['name']!r} is {np.dtype(detail['dtype']).name}, got "
                                 f"{x.dtype.name}; use predict() to convert float input")
            self.interpreter.set_tensor(detail["index"], x)
        self.interpreter.invoke()
        outs = [self.interpreter.get_tensor(d["index"]) for d in self._outputs]
        return outs[0] if len(outs) == 1 else outs

    def predict(self, *inputs):
        """Float input -> sidecar preprocessing -> quantize -> invoke -> dequantized float output."""
        fed = [quantize(self._fit(self.sidecar.preprocess(x), d), d) for x, d in zip(inputs, self._inputs,
                                                                                      strict=False)]
        raw = self.predict_raw(*fed)
        raw = raw if isinstance(raw, list) else [raw]
        outs = [dequantize(r, d) for r, d in zip(raw, self._outputs, strict=True)]
        return outs[0] if len(outs) == 1 else outs

    def classify(self, x, top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` classes of one example, as (label, score); labels from the sidecar, else indices."""
        if top_k < 1:
            raise UsageError(f"top_k must be >= 1, got {top_k}")
        out = self.predict(x)
        scores = np.asarray(out[0] if isinstance(out, list) else out, dtype=np.float32).reshape(-1)
        best = np.argsort(-scores, kind="stable")[:top_k]
        names = self.labels
        return [Prediction(names[i] if i < len(names) else str(i), float(scores[i])) for i in best]


def _first(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _custom_op_hint(err: BaseException) -> str:
    """What LiteRT's "unresolved custom op" means: a custom op runs only where a kernel for it is registered
    with the interpreter (https://ai.google.dev/edge/lite/models/ops_custom, "Create and register the operator")."""
    found = re.search(r"unresolved custom op: ([^\s.]+)", str(err))
    if found is None:
        return ""
    return (f" ({found.group(1)} is a custom op, not a TFLite builtin: it runs only where its kernel is registered, "
            "as MediaPipe does for its own ops; 'edgekit info' and 'edgekit check' still read the file)")


def _check_static(interpreter, path: Path) -> None:
    """Refuse inputs with dynamic dimensions beyond the batch (a dynamic batch runs as 1, TFLite's default)."""
    for d in interpreter.get_input_details():
        sig = [int(v) for v in d.get("shape_signature", d["shape"])]
        if any(v < 0 for v in sig[1:]):
            raise UsageError(f"{str(path)!r}: input {d['name']!r} has a dynamic shape {sig}, which cannot be "
                             "fed as is; re-convert the model with a fixed input size (e.g. --input-size 224)")


def load(path: str | Path, *, threads: int | None = None, delegate: str | None = None, backend: str = "auto",
         xnnpack: bool = True) -> EdgeModel:
    """Load and allocate a ``.tflite`` model.

    Args:
        path: the ``.tflite`` file; a ``{path}.json`` sidecar beside it adds preprocessing and labels.
        threads: CPU threads for the interpreter; None is the runtime's default.
        delegate: None, or ``"edgetpu"`` for a Coral Edge TPU (needs libedgetpu).
        backend: ``auto`` (ai_edge_litert, then tflite_runtime, then tensorflow.lite) or one of those names.
        xnnpack: False uses the builtin kernels without the default XNNPACK delegate.

    Raises:
        ModelFileError: a missing, corrupt or truncated file, or one the runtime cannot allocate.
        UsageError: bad threads, an unknown backend or delegate, or a missing Edge TPU library.
    """
    path = Path(path)
    check_threads(threads)
    graph = read_tflite(path)  # before the C++ loader: it may crash on a bad flatbuffer
    chosen = get_backend(backend)
    sidecar = read_sidecar(path)
    loaded = load_delegate(chosen, delegate)
    kwargs = {"num_threads": threads, **chosen.resolver(xnnpack)}
    if loaded is not None:
        kwargs["experimental_delegates"] = [loaded]
    try:
        interpreter = chosen.Interpreter(model_path=str(path), **kwargs)
        _check_static(interpreter, path)
        interpreter.allocate_tensors()
        return EdgeModel(path, interpreter, graph, chosen, sidecar, threads, xnnpack, delegate)
    except (ValueError, RuntimeError, UnicodeError) as err:  # a file that passed the reader but not the runtime
        raise ModelFileError(f"{chosen.name.value} could not load {str(path)!r}: {_first(err)}"
                             f"{_custom_op_hint(err)}") from None
