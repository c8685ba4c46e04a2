"""TFLite's own parts of TensorFlow's wheel, loaded without importing TensorFlow (issue 22).

TensorFlow's calibrator is a TFLite extension (``_pywrap_tensorflow_lite_calibration_wrapper``, linked against
TFLite alone), the MLIR quantizer is one extension (``_pywrap_converter_api``) and the flatbuffer schema is
generated Python; ``import tensorflow`` would add 590 MB of resident memory (300 MB more than the extensions) and
3 s to a process that needs none of the rest. These load the very files ``tensorflow.lite.python`` uses, from
the installed TensorFlow, so their output is the same.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import flatbuffers
import numpy as np

from edgekit.errors import MissingExtra


def _tf_dir() -> Path:
    spec = importlib.util.find_spec("tensorflow")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra("convert", "converting needs TensorFlow")
    return Path(next(iter(spec.submodule_search_locations)))


def _load(name: str, path: Path, loader=None):
    loader = loader or importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


@cache
def calibration_wrapper():
    """TensorFlow's ``_pywrap_tensorflow_lite_calibration_wrapper`` extension."""
    name = "_pywrap_tensorflow_lite_calibration_wrapper"
    path = _tf_dir() / "lite" / "python" / f"{name}.so"
    return _load(name, path, importlib.machinery.ExtensionFileLoader(name, str(path)))


@cache
def converter_api():
    """TensorFlow's ``_pywrap_converter_api`` extension (the MLIR converter and quantizer), without TensorFlow's
    Python: 300 MB resident instead of 590."""
    name = "_pywrap_converter_api"
    path = _tf_dir() / "compiler" / "mlir" / "lite" / "python" / f"{name}.so"
    return _load(name, path, importlib.machinery.ExtensionFileLoader(name, str(path)))


@cache
def schema():
    """TensorFlow's generated TFLite flatbuffer schema (``schema_py_generated``)."""
    return _load("edgekit_tflite_schema", _tf_dir() / "lite" / "python" / "schema_py_generated.py")


def op_names(model: bytes | bytearray) -> set[str]:
    """The builtin operator names a flatbuffer uses (``FULLY_CONNECTED``, ...)."""
    fb = schema()
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    root = fb.Model.GetRootAs(model, 0)
    codes = (root.OperatorCodes(i) for i in range(root.OperatorCodesLength()))
    return {names.get(max(c.BuiltinCode(), c.DeprecatedBuiltinCode()), "?") for c in codes}


def calibrate(model: bytes, samples: Iterable[list]) -> bytes:
    """``tf.lite``'s ``Calibrator(model).calibrate(samples)``, as TensorFlow's converter calls it: the model with the
    min/max of every activation over the samples. ``add_intermediate_tensors`` goes first only for the LSTM ops
    it applies to: for any other model it repacks the flatbuffer unchanged in content, which calibration repacks
    again, so the result is the same bytes."""
    wrapper = calibration_wrapper()
    if any("LSTM" in name for name in op_names(model)):
        model = wrapper.AddIntermediateTensors(model)
    calibrator = wrapper.CalibrationWrapper(model, [], [])  # reads the model in place: keep `model` alive
    prepared = False
    for sample in samples:
        if not prepared:
            calibrator.Prepare([list(x.shape) for x in sample])
            prepared = True
        calibrator.FeedTensor(sample)
    return calibrator.Calibrate()


class LeanBuilder(flatbuffers.Builder):
    """A ``flatbuffers.Builder`` that writes the same bytes with fewer copies: a numpy array goes into the buffer
    without an intermediate ``tobytes()`` copy, and :meth:`Output` is a view, not a copy (callers copy it once).
    The output does not depend on the initial size: flatbuffers align from the end of the buffer."""

    def CreateNumpyVector(self, x):
        if not isinstance(x, np.ndarray) or x.dtype.str[0] == ">" or x.ndim != 1 or not x.flags.c_contiguous:
            return super().CreateNumpyVector(x)
        if x.dtype.kind not in ("b", "i", "u", "f"):
            return super().CreateNumpyVector(x)
        self.StartVector(x.itemsize, x.size, x.dtype.alignment)
        self.head = self.head - x.nbytes
        self.Bytes[self.head:self.head + x.nbytes] = memoryview(x).cast("B")
        self.vectorNumElems = x.size
        return self.EndVector()

    def Output(self):
        if not self.finished:
            return super().Output()
        return memoryview(self.Bytes)[self.head:]
