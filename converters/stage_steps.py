"""The stages of a staged conversion (``converters.stages``), each run in a fresh process:
``python -m converters.stage_steps`` (``edgekit.child_process``), asked ``{"stage", "folder", "job", "prepared"}``.

Each stage reads the files earlier stages wrote in the folder, writes its own, and answers with its report: what
it found, its peak memory and its time. The steps of TF's converter that a stage answers with a file are hooked
through ``converters.tf_private``; a hook that is not reached is a named error, not a silent difference.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from converters import memory
from converters.prepared import Prepared
from edgekit import child_process
from edgekit.errors import EdgekitError, first_line
from edgekit.models.registry import Preprocess
from edgekit.quant_modes import QuantConfig, QuantMode

_CALIBRATED = b"calibrated in the calibrate stage"


class _Done(BaseException):
    """Raised inside TF's converter once the step this stage runs has written its file (a BaseException, so that
    no ``except Exception`` on the way out turns it into a conversion error)."""


def _config(job: dict) -> QuantConfig:
    return QuantConfig(QuantMode(job["mode"]), float_io=job["float_io"])


def _describe(job: dict) -> str:
    from converters.source import source_from_doc

    return source_from_doc(job["source"]).describe()


def _not_this_tensorflow(job: dict, what: str) -> EdgekitError:
    return EdgekitError(f"TensorFlow's converter {what} for {_describe(job)}; this TensorFlow is not the version "
                        "edgekit's staged conversion was built for (converters/tf_private.py)")


def _prepare(job: dict, folder: Path, _request: dict, _progress) -> dict:
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


def _convert(job: dict, folder: Path, prepared: dict) -> bytes:
    """TF's converter for the job, set up exactly as :func:`converters.tflite.to_tflite` sets it up, run."""
    from converters._tf import quiet_tf
    from converters.calibration import Feed
    from converters.tflite import _configure, _saved_model_converter, convert_or_explain

    x_cal = Prepared.load(folder).x_cal
    with quiet_tf() as tf:
        conv = _saved_model_converter(tf, Path(prepared["saved_model"]), prepared["from_keras"])
        conv = _configure(tf, conv, _config(job), Feed(x_cal) if x_cal is not None else None)
    return convert_or_explain(conv, _describe(job), _config(job).tag)


def _core(job: dict, folder: Path, request: dict, _progress) -> dict:
    """TF's converter up to its core step's flatbuffer; for int8 it goes on, past a calibrator that returns that
    flatbuffer unchanged, to record the arguments TF gives its quantizer (for the quantize stage)."""
    from converters import tf_private

    quantizing = _config(job).mode is QuantMode.INT8

    def core(real, **kwargs):
        model = real(**kwargs)
        (folder / "core.tflite").write_bytes(model)
        if not quantizing:
            raise _Done
        return model

    def record(_model, *args):
        (folder / "quantizer.json").write_text(json.dumps(tf_private.recorded_quantizer(args)))
        raise _Done

    tf_private.install_hooks(core=core, quantizer=record, calibrated=lambda: None)
    try:
        _convert(job, folder, request["prepared"])
    except _Done:
        return {}
    raise _not_this_tensorflow(job, "did not reach the steps edgekit runs in stages")


def _calibrate(_job: dict, folder: Path, _request: dict, progress) -> dict:
    """TF's calibrator on the core flatbuffer, without TensorFlow (``converters.tf_private.calibrate``)."""
    from converters.calibration import Feed
    from converters.tf_private import calibrate

    feed = Feed(Prepared.load(folder).x_cal, progress)
    calibrated = calibrate((folder / "core.tflite").read_bytes(), feed())
    feed.require_all()
    (folder / "calibrated.tflite").write_bytes(calibrated)
    return {"samples": len(feed.x)}


def _quantize(job: dict, folder: Path, _request: dict, _progress) -> dict:
    """TF's quantizer on the calibrated flatbuffer with the arguments TF gave it, without TensorFlow's Python;
    very large dense kernels in pieces (``converters.chunked``)."""
    from converters import chunked, tf_private

    recorded = json.loads((folder / "quantizer.json").read_text())
    try:
        model, in_pieces = chunked.quantize(
            folder / "calibrated.tflite", lambda m, float_io: tf_private.quantize(m, recorded, float_io=float_io),
            job["chunk_from_elements"], piece_elements=job["piece_elements"])
    except chunked.ChunkError as err:
        raise EdgekitError(f"could not quantize {_describe(job)} in stages: {err}") from None
    except Exception as err:  # TF's quantizer raises its own types
        raise EdgekitError(f"TensorFlow could not quantize {_describe(job)}: {first_line(err)}") from None
    (folder / "quantized.tflite").write_bytes(model)
    return {"chunked": in_pieces}


def _final(job: dict, folder: Path, request: dict, _progress) -> dict:
    """TF's converter once more, each staged step answered by its stage's file; the rest runs as usual."""
    from converters import tf_private

    used: list[str] = []
    quantized = folder / "quantized.tflite"

    def core(_real, **_kwargs):
        used.append("core")
        return (folder / "core.tflite").read_bytes()

    def quantizer(model, *_args):
        if model != _CALIBRATED:
            raise EdgekitError("TensorFlow's converter quantized a model that did not come from the calibrate stage")
        used.append("quantize")
        return quantized.read_bytes()

    staged_quantizer = quantized.is_file()
    tf_private.install_hooks(core=core, quantizer=quantizer if staged_quantizer else None,
                             calibrated=(lambda: _CALIBRATED) if staged_quantizer else None,
                             builder_size=(folder / "core.tflite").stat().st_size)
    model = _convert(job, folder, request["prepared"])
    expected = ["core", "quantize"] if staged_quantizer else ["core"]
    if used != expected:
        raise _not_this_tensorflow(job, f"took the staged steps {used}, not {expected},")
    (folder / "final.tflite").write_bytes(model)
    return {}


_STAGES = {"prepare": _prepare, "core": _core, "calibrate": _calibrate, "quantize": _quantize, "final": _final}


def _serve(request: dict, progress) -> dict:
    started = time.perf_counter()
    report = _STAGES[request["stage"]](request["job"], Path(request["folder"]), request, progress)
    peak = memory.peak_rss()
    return {**report, "seconds": round(time.perf_counter() - started, 3),
            "peak_rss_mb": None if peak is None else round(peak / memory.MB)}


if __name__ == "__main__":
    sys.exit(child_process.serve(_serve))
