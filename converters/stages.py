"""A large model's conversion as a chain of processes, each holding at most one of TensorFlow's copies of it.

In one process, converting VGG-16 (553 MB of float weights) to int8 peaks at 6.5 GB: TF's converter keeps
what each step made (the MLIR module's constants, the float flatbuffer, the calibration model, the quantizer's
copy) until the process ends. Here each step that needs a copy runs in its own process, one at a time, and hands
the next a file (issue 22):

    prepare    build or load the float model; take the calibration and held-out inputs and the float outputs;
               write a SavedModel (``converters.prepared``)
    core       TF's converter from the SavedModel to the float (or fp16, or dynamic-range) flatbuffer
    calibrate  int8 only: TF's calibrator on that flatbuffer (the model with min/max statistics)
    final      TF's converter once more, with each earlier stage's file in place of the step that made it, so
               that the rest (quantizing, buffer de-duplication, conversion metadata) runs as in one process

``final`` returns what ``TFLiteConverter.convert()`` returns: the same bytes (``tests/test_convert_memory.py``).
The process that runs the chain (``edgekit convert``, or the study's conversion process) imports no TensorFlow;
it checks the result against the float outputs with the TFLite runtime. ``python -m converters.stages STAGE
FOLDER`` is a stage's side: it reads ``job.json`` in FOLDER and writes ``STAGE.json`` (its peak memory and time,
or its error) and its file.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from converters import memory
from converters.prepared import Prepared
from edgekit import children, interrupt
from edgekit.errors import EdgekitError, first_line
from edgekit.models.registry import Preprocess
from edgekit.quant_modes import QuantConfig, QuantMode

_PROGRESS_FD = "EDGEKIT_STAGE_PROGRESS_FD"  # the calibrate stage writes each sample's number here


def stages_for(config: QuantConfig) -> tuple[str, ...]:
    """int16x8 calibrates and quantizes in one call of TF's older quantizer, which runs in ``final``."""
    return ("prepare", "core", "calibrate", "quantize", "final") if config.mode is QuantMode.INT8 else \
        ("prepare", "core", "final")


def run_chain(folder: Path, job: dict, config: QuantConfig, *,
              progress: Callable[[int], None] | None = None) -> tuple[bytes, dict[str, dict]]:
    """Run every stage for ``job`` (convert()'s arguments, as JSON) in ``folder``; the model and each stage's report
    (``peak_rss_mb``, ``seconds``, ``notes``). A stage's error is raised here with its message."""
    from converters import chunked

    (folder / "job.json").write_text(json.dumps({"chunk_from_elements": chunked.CHUNK_FROM_ELEMENTS,
                                                 "piece_elements": chunked.ROWS_PER_PIECE_ELEMENTS, **job}))
    reports = {stage: _run_stage(stage, folder, progress if stage == "calibrate" else None)
               for stage in stages_for(config)}
    return (folder / "final.tflite").read_bytes(), reports


def child_env() -> dict[str, str]:
    """This environment, with the checkout on PYTHONPATH and this process named as its parent (it ends when this
    process does: ``edgekit.children``), for a ``python -m converters...`` child."""
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return children.child_env({**os.environ, "PYTHONPATH": path})


def _run_stage(stage: str, folder: Path, progress: Callable[[int], None] | None) -> dict:
    read_fd, write_fd = os.pipe()
    env = {**child_env(), _PROGRESS_FD: str(write_fd)}
    proc = subprocess.Popen([sys.executable, "-m", "converters.stages", stage, str(folder)], env=env,
                            pass_fds=(write_fd,), stdout=2)  # TF prints to stdout, which --json owns
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as lines:
            for line in lines:
                if progress and line.strip().isdigit():
                    progress(int(line))
        code = proc.wait()
    except BaseException:  # Ctrl-C reached the stage too (same process group; SIGTERM is passed on): let it end
        children.stop(proc)
        raise
    interrupt.check()
    report_file = folder / f"{stage}.json"
    report = json.loads(report_file.read_text()) if report_file.is_file() else {}
    if code == 0 and "error" not in report:
        return report
    if report.get("error"):
        raise EdgekitError(report["error"])
    if code == 130:
        raise KeyboardInterrupt
    if code < 0:
        raise EdgekitError(f"the conversion's {stage} stage was killed by signal {-code} (9 is usually the "
                           "out-of-memory killer); free some memory and run it again")
    raise EdgekitError(f"the conversion's {stage} stage failed (exit status {code}); its output is above")


# The stages' side: each runs in a fresh process.

class _Done(BaseException):
    """Raised inside TF's converter once the step this stage runs has written its file (a BaseException, so that
    no ``except Exception`` on the way out turns it into a conversion error)."""


def _config(job: dict) -> QuantConfig:
    return QuantConfig(QuantMode(job["mode"]), float_io=job["float_io"])


def _prepare(job: dict, folder: Path) -> dict:
    from converters import calibration as cal
    from converters.prepared import prepare_float
    from converters.source import source_from_doc

    src = source_from_doc(job["source"])
    notes: list[str] = []
    spec = cal.parse_calibration(job["calibration"], 1 if src.build_args.get("input_shape", [0, 0, 3])[2] == 1
                                 else 3)
    pre = Preprocess.from_dict(job["preprocess"]) if job["preprocess"] else None
    prep, saved_model, _ = prepare_float(
        src, _config(job), spec=spec, explicit_calibration=job["calibration"] is not None, samples=job["samples"],
        pre=pre, labels=job["labels"], folder=folder / "savedmodel", warn=notes.append, say=lambda _m: None)
    prep.save(folder)
    return {"notes": notes, "saved_model": str(saved_model), "from_keras": src.kind != "savedmodel"}


def _converter(job: dict, folder: Path):
    """TF's converter for the job, set up exactly as :func:`converters.tflite.to_tflite` sets it up."""
    from converters._tf import quiet_tf
    from converters.calibration import Feed
    from converters.tflite import _configure, _saved_model_converter

    prepared = json.loads((folder / "prepare.json").read_text())
    x_cal = Prepared.load(folder).x_cal
    with quiet_tf() as tf:
        conv = _saved_model_converter(tf, Path(prepared["saved_model"]), prepared["from_keras"])
        return _configure(tf, conv, _config(job), Feed(x_cal) if x_cal is not None else None)


def _convert(job: dict, conv) -> bytes:
    from converters.tflite import convert_or_explain

    return convert_or_explain(conv, _describe(job), _config(job).tag)


def _describe(job: dict) -> str:
    from converters.source import source_from_doc

    return source_from_doc(job["source"]).describe()


def _core(job: dict, folder: Path) -> dict:
    """TF's converter up to its core step's flatbuffer; for int8 it goes on, past a calibrator that returns that
    flatbuffer unchanged, to record the arguments TF gives its quantizer (for the quantize stage)."""
    from tensorflow.lite.python import lite

    conv = _converter(job, folder)
    real = lite._convert_saved_model
    quantizing = _config(job).mode is QuantMode.INT8

    def core(**kwargs):
        model = real(**kwargs)
        (folder / "core.tflite").write_bytes(model)
        if not quantizing:
            raise _Done
        return model

    def record(_model, *args):
        from tensorflow.compiler.mlir.lite import types_pb2

        (folder / "quantizer.json").write_text(json.dumps({
            "args": [base64.b64encode(a).decode() if isinstance(a, bytes) else a for a in args],
            "bytes": [i for i, a in enumerate(args) if isinstance(a, bytes)], "float": types_pb2.FLOAT}))
        raise _Done

    with _hooks(core=core, quantizer=record, calibrated=lambda: None):
        try:
            _convert(job, conv)
        except _Done:
            return {}
    raise EdgekitError(f"TensorFlow's converter did not reach the steps edgekit runs in stages for "
                       f"{_describe(job)}; this TensorFlow is not the version edgekit's staged conversion was "
                       "built for")


def _calibrate(job: dict, folder: Path) -> dict:
    """TF's calibrator on the core flatbuffer, without TensorFlow (``converters.tflite_bare``)."""
    from converters.calibration import Feed
    from converters.tflite_bare import calibrate

    feed = Feed(Prepared.load(folder).x_cal, _progress_writer())
    calibrated = calibrate((folder / "core.tflite").read_bytes(), feed())
    feed.require_all()
    (folder / "calibrated.tflite").write_bytes(calibrated)
    return {"samples": len(feed.x)}


def _quantize(job: dict, folder: Path) -> dict:
    """TF's quantizer on the calibrated flatbuffer with the arguments TF gave it, without TensorFlow's Python;
    very large dense kernels in pieces (``converters.chunked``)."""
    from converters import chunked
    from converters.tflite_bare import converter_api

    recorded = json.loads((folder / "quantizer.json").read_text())
    args = [base64.b64decode(a) if i in recorded["bytes"] else a for i, a in enumerate(recorded["args"])]
    api = converter_api()

    def quantizer(model: bytes, float_io: bool) -> bytes:
        given = list(args)
        if float_io:  # (disable_per_channel, fully_quantize, inference_type, input type, output type, ...)
            given[3] = given[4] = recorded["float"]
        return api.ExperimentalMlirQuantizeModel(model, *given)

    try:
        model, in_pieces = chunked.quantize(folder / "calibrated.tflite", quantizer, job["chunk_from_elements"],
                                            piece_elements=job["piece_elements"])
    except chunked.ChunkError as err:
        raise EdgekitError(f"could not quantize {_describe(job)} in stages: {err}") from None
    except Exception as err:  # TF's quantizer raises its own types
        raise EdgekitError(f"TensorFlow could not quantize {_describe(job)}: {first_line(err)}") from None
    (folder / "quantized.tflite").write_bytes(model)
    return {"chunked": in_pieces}


def _final(job: dict, folder: Path) -> dict:
    """TF's converter once more, each staged step answered by its stage's file; the rest runs as usual."""
    conv = _converter(job, folder)
    used: list[str] = []
    quantized = folder / "quantized.tflite"

    def core(**_kwargs):
        used.append("core")
        return (folder / "core.tflite").read_bytes()

    def quantizer(model, *_args):
        if model != _CALIBRATED:
            raise EdgekitError("TensorFlow's converter quantized a model that did not come from the calibrate stage")
        used.append("quantize")
        return quantized.read_bytes()

    size = (folder / "core.tflite").stat().st_size
    with _hooks(core=core, quantizer=quantizer if quantized.is_file() else None,
                calibrated=(lambda: _CALIBRATED) if quantized.is_file() else None, builder_size=size):
        model = _convert(job, conv)
    expected = ["core", "quantize"] if quantized.is_file() else ["core"]
    if used != expected:
        raise EdgekitError(f"TensorFlow's converter took the staged steps {used}, not {expected}, for "
                           f"{_describe(job)}; this TensorFlow is not the version edgekit's staged conversion was "
                           "built for")
    (folder / "final.tflite").write_bytes(model)
    return {}


_CALIBRATED = b"calibrated in the calibrate stage"


@contextlib.contextmanager
def _hooks(*, core, quantizer, calibrated, builder_size: int = 0):
    """Answer TF's converter steps in this process: ``core`` for its MLIR conversion, ``quantizer`` for its MLIR
    quantizer, ``calibrated`` (returning what the quantizer is given) for its calibrator; None leaves a step as it
    is. ``builder_size`` starts the flatbuffer builders of TF's later Python steps (buffer de-duplication,
    metadata) at that size, as :class:`converters.tflite_bare.LeanBuilder`s: the bytes they write are the same, but
    growing by doubling from 1 KB, and copying each weight array and the result once more, held up to 4 copies of
    the model at once."""
    import flatbuffers
    from tensorflow.compiler.mlir.lite.python import wrap_converter
    from tensorflow.lite.python import lite
    from tensorflow.lite.python.optimize import calibrator
    from tensorflow.lite.tools import flatbuffer_utils

    from converters.tflite_bare import LeanBuilder

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

    lite._convert_saved_model = core
    if calibrated is not None:
        calibrator.add_intermediate_tensors = lambda model: model  # the calibrate stage decides (tflite_bare)
        calibrator.Calibrator = Calibrated
    if quantizer is not None:
        wrap_converter.wrapped_experimental_mlir_quantize = quantizer
    if builder_size:
        flatbuffer_utils.flatbuffers = Presized()
    yield


_STAGES = {"prepare": _prepare, "core": _core, "calibrate": _calibrate, "quantize": _quantize, "final": _final}


def _progress_writer() -> Callable[[int], None] | None:
    fd = os.environ.get(_PROGRESS_FD)
    if not fd:
        return None
    out = os.fdopen(int(fd), "w", buffering=1)
    return lambda done: out.write(f"{done}\n")


def _child(stage: str, folder: str) -> int:
    started = time.perf_counter()
    work = Path(folder)
    job = json.loads((work / "job.json").read_text())
    report_file = work / f"{stage}.json"
    try:
        with interrupt.guard():
            report = _STAGES[stage](job, work)
    except EdgekitError as err:
        report_file.write_text(json.dumps({"error": str(err)}))
        return 1
    except KeyboardInterrupt:
        return 130
    peak = memory.peak_rss()
    report_file.write_text(json.dumps({**report, "seconds": round(time.perf_counter() - started, 3),
                                       "peak_rss_mb": None if peak is None else round(peak / memory.MB)}))
    return 0


if __name__ == "__main__":
    children.die_with_parent()
    sys.exit(_child(sys.argv[1], sys.argv[2]))
