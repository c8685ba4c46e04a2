"""Every private TensorFlow name, and every undocumented behaviour, that edgekit's converters rely on.

Supported: TensorFlow 2.21 (the ``[convert]`` extra pins ``tensorflow-cpu==2.21.*``). No other module in
edgekit/, converters/, bench/ or targets/ touches a private TensorFlow name (``tests/test_tf_private.py`` greps
for them; its docstring gives the rule). :data:`NAMES` lists each name with what edgekit uses it for,
:data:`BEHAVIOURS` the behaviours, and :func:`check` fails with one line naming what moved.

On a TensorFlow upgrade, install the new wheel (the pin is in pyproject.toml) and run, in this order:

1. ``pytest tests/test_tf_private.py``: :func:`check` on the new wheel (every name below is still there, and the
   quantizer's arguments are where :data:`BEHAVIOURS` says);
2. ``pytest tests/test_convert_memory.py -m "slow or heavy"``: the staged conversion (hooks that are not
   reached raise a named error) and the quantizer in pieces (``ChunkError``) write the bytes one process writes;
3. ``pytest tests/test_convert_modes.py tests/test_convert_batch1.py``: the one-process conversion.

A name that moved is fixed here alone, where its line says what it was for; then the pin and ``SUPPORTED``.

The staged conversion (``converters.stage_steps``) runs TF's converter with some of its steps answered by a
stage's file: :func:`install_hooks`. The calibrate and quantize stages load TF's extensions without importing
TensorFlow (590 MB of resident memory and 3 s that they need none of): :func:`calibrate`, :func:`quantize`.

Why these private calls and not Google's ai-edge-quantizer (docs/memory.md, "ai-edge-quantizer", has the
measurements). ai-edge-quantizer 0.10.0 needs no TensorFlow and quantizes the float VGG-16 .tflite to full int8
(recipe ``static_wi8_ai8``) in 1.7 GB, where the calibrate and quantize stages here peak at 3.3 and 3.6 GB; but
TF's converter still makes the float flatbuffer (3.1 GB), so ``convert --int8`` would fall only from 3.6 to about
3.1 GB. With its default calibration (ranges averaged per sample) VGG-16's logits keep 21 dB SQNR and 64% top-1
agreement with float, against TF's 31 dB and 98%; it matches TF (476 of 138 M weights off by one) only when its
``Calibrator`` is given min/max updates, which ``Quantizer.calibrate`` does not expose. It writes operator version
1 and minimum runtime 1.5.0 for int8 kernels, is an alpha 0.x release and pins ai-edge-litert exactly. Kept: TF's
exact bytes, held by the pin and :func:`check`; ai-edge-quantizer is the way out if TF's private API breaks.

One job, over 250 lines: the list of what a TensorFlow upgrade can break; splitting it brings back the spread.
"""

from __future__ import annotations

import base64
import importlib.machinery
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from edgekit.errors import EdgekitError, MissingExtra

SUPPORTED = "2.21"

NAMES = {
    "tensorflow.lite.python.lite._convert_saved_model":
        "the converter's MLIR step (SavedModel to flatbuffer): the core stage keeps its output, the final stage "
        "answers it with that file",
    "tensorflow.lite.python.lite.TFLiteSavedModelConverterV2":
        "a SavedModel converter without from_saved_model's Python load of every weight",
    "tensorflow.lite.python.lite.TFLiteConverterBase._set_original_model_type":
        "records Keras as the model type of a model exported to a SavedModel first, as from_keras_model does",
    "tensorflow.lite.python.conversion_metadata_schema_py_generated.ModelType":
        "the model types that conversion metadata records (KERAS_MODEL, TF_SAVED_MODEL)",
    "tensorflow.lite.python.optimize.calibrator.Calibrator":
        "TF's calibrator, answered by the calibrate stage's file in the final stage",
    "tensorflow.lite.python.optimize.calibrator.add_intermediate_tensors":
        "made a no-op in the final stage: the calibrate stage already applied it where it applies",
    "tensorflow.compiler.mlir.lite.python.wrap_converter.wrapped_experimental_mlir_quantize":
        "the MLIR quantizer's call: the core stage records its arguments, the final stage answers it",
    "tensorflow.compiler.mlir.lite.types_pb2.FLOAT":
        "the inference type for float input and output in the quantizer's arguments",
    "tensorflow.lite.tools.flatbuffer_utils.flatbuffers":
        "the flatbuffers module TF's later Python steps build with; replaced by one whose builders copy less",
    "lite/python/_pywrap_tensorflow_lite_calibration_wrapper.so":
        "TF's calibrator extension (CalibrationWrapper, AddIntermediateTensors), loaded without TensorFlow",
    "compiler/mlir/lite/python/_pywrap_converter_api.so":
        "the MLIR converter extension (ExperimentalMlirQuantizeModel), loaded without TensorFlow",
    "lite/python/schema_py_generated.py":
        "TF's generated TFLite flatbuffer schema (read and write .tflite files without TensorFlow)",
}

BEHAVIOURS = {
    "quantizer arguments":
        "wrapped_experimental_mlir_quantize(model, disable_per_channel, fully_quantize, inference_type, "
        "input_data_type, output_data_type, ...): float input and output set positions 3 and 4 (quantize)",
    "MLIR constant de-duplication":
        "MLIR keeps one copy of a constant repeated in a buffer, and never merges two different ones: "
        "converters.chunked quantizes with placeholder kernels of one value each (ChunkError if it stops fitting)",
}

_CALIBRATOR = "lite/python/_pywrap_tensorflow_lite_calibration_wrapper"
_CONVERTER = "compiler/mlir/lite/python/_pywrap_converter_api"
_QUANTIZER_ARGS = ["input_data_str", "disable_per_channel", "fully_quantize", "inference_type", "input_data_type",
                   "output_data_type"]  # the first of wrapped_experimental_mlir_quantize's parameters


def check() -> None:
    """Raise EdgekitError, one line naming what moved, if this TensorFlow lacks a name edgekit relies on."""
    import importlib

    for name in NAMES:
        if "/" in name:
            if not (_tf_dir() / name).is_file():
                raise _moved(f"{name} is not in {_tf_dir()}")
            continue
        parts, obj = name.split("."), None
        for cut in range(len(parts), 0, -1):  # the longest module path in the name, then its attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                raise _moved(f"{name} is gone")
            obj = getattr(obj, attr)
    from tensorflow.compiler.mlir.lite.python import wrap_converter

    params = list(inspect.signature(wrap_converter.wrapped_experimental_mlir_quantize).parameters)
    if params[:len(_QUANTIZER_ARGS)] != _QUANTIZER_ARGS:
        raise _moved(f"wrapped_experimental_mlir_quantize takes {params}, not {_QUANTIZER_ARGS} first")
    # the extensions as TensorFlow imports them (the same files; loading them again beside it would init them twice)
    for relative, attrs in ((_CALIBRATOR, ("CalibrationWrapper", "AddIntermediateTensors")),
                            (_CONVERTER, ("ExperimentalMlirQuantizeModel",))):
        extension = importlib.import_module("tensorflow." + relative.replace("/", "."))
        missing = [a for a in attrs if not hasattr(extension, a)]
        if missing:
            raise _moved(f"{relative} has no {', '.join(missing)}")


def _moved(what: str) -> EdgekitError:
    import tensorflow as tf

    return EdgekitError(f"TensorFlow {tf.__version__}: {what}; edgekit's converters support {SUPPORTED} "
                        "(update converters/tf_private.py for this TensorFlow)")


# TFLite's own parts of TensorFlow's wheel, loaded without importing TensorFlow (issue 22): the very files
# tensorflow.lite.python uses, so their output is the same.

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


def _extension(relative: str):
    name = relative.rsplit("/", 1)[-1]
    path = _tf_dir() / f"{relative}.so"
    return _load(name, path, importlib.machinery.ExtensionFileLoader(name, str(path)))


@cache
def calibration_wrapper():
    """TF's calibrator extension (36 MB resident, linked against TFLite alone)."""
    return _extension(_CALIBRATOR)


@cache
def converter_api():
    """TF's MLIR converter and quantizer extension: 300 MB resident, not TensorFlow's 590."""
    return _extension(_CONVERTER)


@cache
def schema():
    """TF's generated TFLite flatbuffer schema."""
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


def recorded_quantizer(args: tuple) -> dict:
    """The arguments TF's converter gave its quantizer (after the model), as JSON."""
    from tensorflow.compiler.mlir.lite import types_pb2

    return {"args": [base64.b64encode(a).decode() if isinstance(a, bytes) else a for a in args],
            "bytes": [i for i, a in enumerate(args) if isinstance(a, bytes)], "float": types_pb2.FLOAT}


def quantize(model: bytes, recorded: dict, *, float_io: bool) -> bytes:
    """TF's quantizer on ``model`` with the arguments :func:`recorded_quantizer` kept, without TensorFlow's Python;
    ``float_io`` keeps the model's input and output float whatever the recorded types say."""
    given = [base64.b64decode(a) if i in recorded["bytes"] else a for i, a in enumerate(recorded["args"])]
    if float_io:  # (disable_per_channel, fully_quantize, inference_type, input type, output type, ...)
        given[3] = given[4] = recorded["float"]
    return converter_api().ExperimentalMlirQuantizeModel(model, *given)


def saved_model_converter(tf, folder: Path, from_keras: bool):
    """The converter ``from_saved_model`` returns, without its Python load of the whole SavedModel (a copy of every
    weight held through the conversion); ``from_keras`` records the model as Keras, as ``from_keras_model`` does,
    so the flatbuffer's conversion metadata is the same."""
    from tensorflow.lite.python import conversion_metadata_schema_py_generated as metadata_fb
    from tensorflow.lite.python import lite

    model_type = metadata_fb.ModelType.KERAS_MODEL if from_keras else metadata_fb.ModelType.TF_SAVED_MODEL
    lite.TFLiteConverterBase._set_original_model_type(model_type)
    return lite.TFLiteSavedModelConverterV2(str(folder), {tf.saved_model.SERVING},
                                            [tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY])


def install_hooks(*, core: Callable, quantizer: Callable | None, calibrated: Callable[[], bytes] | None,
                  builder_size: int = 0) -> None:
    """Answer TF's converter steps in this process, for the rest of it (each stage is a process of its own).

    ``core(real, **kwargs)`` replaces its MLIR conversion (``real`` is TF's own); ``quantizer(model, *args)`` its
    MLIR quantizer; ``calibrated()``, returning what the quantizer is then given, its calibrator; None leaves a
    step as it is. ``builder_size`` starts the flatbuffer builders of TF's later Python steps (buffer
    de-duplication, metadata) at that size, as :class:`converters.lean_builder.LeanBuilder`s: the bytes they write
    are the same, but growing by doubling from 1 KB, and copying each weight array and the result once more, held
    up to 4 copies of the model at once."""
    import flatbuffers
    from tensorflow.compiler.mlir.lite.python import wrap_converter
    from tensorflow.lite.python import lite
    from tensorflow.lite.python.optimize import calibrator
    from tensorflow.lite.tools import flatbuffer_utils

    from converters.lean_builder import LeanBuilder

    class Calibrated:  # TF's Calibrator, answered by the calibrate stage
        def __init__(self, *_args, **_kwargs):
            pass

        def calibrate(self, _dataset_gen):
            return calibrated()

    class Presized:  # the flatbuffers module, whose builders start large enough and copy less
        def __getattr__(self, name):
            return getattr(flatbuffers, name)

        @staticmethod
        def Builder(initial_size: int = 1024):
            return LeanBuilder(max(initial_size, builder_size))

    real = lite._convert_saved_model
    lite._convert_saved_model = lambda **kwargs: core(real, **kwargs)
    if calibrated is not None:
        calibrator.add_intermediate_tensors = lambda model: model  # the calibrate stage decides (calibrate above)
        calibrator.Calibrator = Calibrated
    if quantizer is not None:
        wrap_converter.wrapped_experimental_mlir_quantize = quantizer
    if builder_size:
        flatbuffer_utils.flatbuffers = Presized()
