"""``convert``: source in, ``.tflite`` and sidecar out, with a fidelity report; cached by content."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from converters import cache, memory
from converters import calibration as cal
from converters.edgetpu import EdgeTPUReport, compile_model
from converters.fidelity import Fidelity, compare, run_tflite
from converters.metadata import imagenet_labels, sidecar
from converters.output import check_output, default_output, sidecar_path, write_pair
from converters.preprocess import PRESETS, apply, parse_preprocess
from converters.source import FloatModel, Source, load_float, resolve, settle_batchnorm
from edgekit import __version__, interrupt
from edgekit.errors import EdgekitError, UsageError
from edgekit.models.registry import Preprocess
from edgekit.quant_modes import QuantConfig, QuantMode

DEFAULT_SAMPLES = 20  # ~0.3 s each for MobileNet v2 at 224 on 2 cores: a cold int8 run stays under 40 s
HELD_OUT = 8  # inputs for the fidelity check, never used for calibration

Progress = Callable[[int, int], None]  # (done, total) while calibrating
Notify = Callable[[str], None]  # a warning or a status line for the user


@dataclass(frozen=True)
class ConversionResult:
    """What a conversion produced. ``float_bytes`` is the float32 size of the weights (params x 4)."""

    path: Path
    sidecar_path: Path
    quant: str  # the quantization's tag, e.g. int8 or int8_floatio: "quant" as in edgekit bench and the study
    size_bytes: int
    float_bytes: int
    seconds: float  # this run, end to end (a cache hit is fast)
    conversion_seconds: float  # the original conversion, as recorded in the sidecar
    cached: bool
    fidelity: Fidelity | None
    metadata: dict
    edgetpu: EdgeTPUReport | None = None
    per_layer: tuple[dict, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def peak_rss_mb(self) -> int | None:
        """The converting process's peak resident memory, MB, as the sidecar records it (None before issue 22)."""
        return self.metadata.get("conversion_peak_rss_mb")

    def to_dict(self) -> dict:
        return {"path": str(self.path), "sidecar": str(self.sidecar_path), "quant": self.quant,
                "size_bytes": self.size_bytes, "float_bytes": self.float_bytes,
                "size_ratio": round(self.size_bytes / self.float_bytes, 4) if self.float_bytes else None,
                "seconds": round(self.seconds, 3), "conversion_seconds": self.conversion_seconds,
                "cached": self.cached, "peak_rss_mb": self.peak_rss_mb,
                "fidelity": self.fidelity.to_dict() if self.fidelity else None,
                "edgetpu": self.edgetpu.to_dict() if self.edgetpu else None, "per_layer": list(self.per_layer),
                "warnings": list(self.warnings), "metadata": self.metadata}


def convert(model_or_path, mode: str | QuantMode | QuantConfig = QuantMode.FP32, *, calibration: str | None = None,
            samples: int = DEFAULT_SAMPLES, output: str | Path | None = None, force: bool = False,
            use_cache: bool = True, input_size: int | None = None, alpha: float | None = None,
            classes: int | None = None, weights: str | None = None, preprocess: str | Preprocess | None = None,
            labels: list[str] | None = None, progress: Progress | None = None,
            notify: Notify | None = None, memory_check: bool = True, cache_only: bool = False) -> ConversionResult:
    """Convert a zoo name, a ``.keras``/``.h5`` file, a SavedModel folder or a keras.Model to ``.tflite``.

    Args:
        model_or_path: what to convert.
        mode: a :class:`QuantMode` name, or a :class:`QuantConfig` for ``float_io``/``edgetpu``/``per_layer``.
        calibration: a folder of images, ``photos``, ``digits`` or ``synthetic``; None picks by channels.
        samples: calibration inputs (int8 and int16x8).
        output: the ``.tflite`` path; default ``{model}_{mode}.tflite`` in the current folder.
        force: replace an existing output.
        use_cache: reuse an earlier identical conversion.
        input_size, alpha, classes, weights: zoo build arguments.
        preprocess: a preset name, ``mean=..,std=..`` text or a Preprocess; zoo models bring their own.
        labels: class names for the sidecar.
        progress, notify: callbacks for the calibration progress and for warnings.
        memory_check: refuse (MemoryShortage) a conversion expected to need more memory than is available
            (``converters.memory``); False converts anyway.
        cache_only: raise NotCached instead of converting when the cache has no entry (no TensorFlow).

    Raises:
        UsageError: a bad argument or combination. EdgekitError: a bad model, calibration set or output.
    """
    started = time.perf_counter()
    config = mode if isinstance(mode, QuantConfig) else QuantConfig(mode)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= 10000:
        raise UsageError(f"--samples must be a whole number from 1 to 10000, got {samples!r}")
    pre = parse_preprocess(preprocess) if isinstance(preprocess, str) else preprocess
    src = resolve(model_or_path, input_size, alpha, classes, weights, pre)
    out = check_output(Path(output) if output else default_output(src.name, config.tag), force)
    spec = cal.parse_calibration(calibration, 1 if src.build_args.get("input_shape", [0, 0, 3])[2] == 1 else 3)
    say = notify or (lambda _msg: None)
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        say(f"warning: {msg}")

    key = cache.key({"source": src.digest, "mode": config.tag, "per_layer": config.per_layer,
                     "calibration": spec.key() if calibration else "default", "samples": samples,
                     "held_out": HELD_OUT, "labels": labels, "preprocess": pre.to_dict() if pre else None,
                     "tf": cache.tf_version(), "edgekit": __version__, "graph": "batch1"})
    hit = cache.get(key) if use_cache else None
    if hit is not None:
        model, meta = hit[0], hit[1]["sidecar"]
        write_pair(out, model, meta, force)
        return _finish(out, model, meta, config, started, True, tuple(hit[1].get("warnings", ())), (), say)
    if cache_only:
        raise NotCached(f"{src.describe()} in {config.tag} is not in the conversion cache")
    reset = memory.peak_rss_reset()
    fm = load_float(src)
    if calibration is None and src.kind != "zoo":
        spec = cal.parse_calibration(None, fm.input_shape[2])
    if pre is None and src.preprocess is None:
        if config.spec.calibrated:
            raise UsageError(f"{src.describe()}: say how pixels become model input with --preprocess "
                             f"({', '.join(PRESETS)}, or mean=A,std=B); int8 ranges depend on it")
        warn("no --preprocess given: the fidelity check feeds pixels scaled to [0, 1] ('unit'); "
             "the sidecar records no preprocessing")
    if memory_check:
        _guard(src, fm, config)
    prep = _prepare(src, fm, config, spec, samples, pre or src.preprocess, labels, warn, say)
    with tempfile.TemporaryDirectory(prefix="edgekit-savedmodel-") as tmp:
        folder = src.path if fm.keras_model is None else Path(tmp)
        fixed = fm.fixed  # a SavedModel traced again at --input-size: its concrete function is what converts
        if fm.keras_model is not None:
            from converters.tflite import export_batch1

            export_batch1(fm.keras_model, folder)
        del fm  # the converter reads the SavedModel: the float model's weights go before it runs (issue 22)
        if src.kind in ("zoo", "keras"):  # a model we built or loaded (VGG-16 left 10 GB behind in a study
            _clear_keras_session()        # that converted model after model)
        model, meta = _convert_prepared(src, prep, folder, config, progress, say, fixed=fixed)
    peak = memory.peak_rss()
    meta["conversion_peak_rss_mb"] = None if peak is None else round(peak / memory.MB)
    meta["conversion_peak_rss_method"] = (
        "VmHWM of the converting process, reset when this conversion started" if reset
        else "peak resident set of the whole converting process")
    meta["conversion_wall_seconds"] = round(time.perf_counter() - started, 3)  # building, converting, checking
    interrupt.check()  # nothing is cached or written after Ctrl-C, even one that TF's clean-up swallowed
    cache.put(key, model, {"sidecar": meta, "warnings": notes, "per_layer": list(prep.per_layer)})
    write_pair(out, model, meta, force)
    return _finish(out, model, meta, config, started, False, tuple(notes), prep.per_layer, say)


class NotCached(EdgekitError):
    """``convert(..., cache_only=True)`` found no cache entry."""


class MemoryShortage(EdgekitError):
    """A conversion expected to need more memory than is available (issue 22); ``--force`` converts anyway."""


def _guard(src: Source, fm: FloatModel, config: QuantConfig) -> None:
    if fm.keras_model is not None:
        weight_bytes = int(fm.keras_model.count_params()) * 4
    else:
        weight_bytes = sum(f.stat().st_size for f in (src.path / "variables").glob("*") if f.is_file())
    check = memory.check(src.name, config.mode.value, weight_bytes)
    if not check.fits:
        raise MemoryShortage(f"{check.message()}; free some memory, or pass --force to convert anyway")


def _clear_keras_session() -> None:
    from edgekit.models._keras import keras

    keras().backend.clear_session(free_memory=True)


@dataclass(frozen=True)
class _Prepared:
    """Everything the float model gives, taken before the converter runs so that the model can be freed."""

    x_cal: np.ndarray | None
    x_held: np.ndarray
    reference: np.ndarray  # the float model's outputs on x_held
    calib: dict
    params: int
    macs: int
    settled: str | None
    pre: Preprocess | None
    labels: list[str] | None
    per_layer: tuple[dict, ...] = ()


def _prepare(src: Source, fm: FloatModel, config: QuantConfig, spec: cal.CalibrationSpec, samples: int,
             pre: Preprocess | None, labels, warn: Notify, say: Notify) -> _Prepared:
    n_cal = samples if config.spec.calibrated else 0
    data = cal.load(spec, fm.input_shape, n_cal, HELD_OUT)
    for note in data.notes:
        warn(note)
    feed = pre or PRESETS["unit"]
    x_cal, x_held = apply(data.calibration, feed), apply(data.held_out, feed)
    settled = _settle_random_zoo(src, fm, feed, warn)
    reference = _batched(fm, x_held)
    per_layer = ()
    if config.per_layer:
        from converters.debugger import worst_layers

        say("running the quantization debugger (per layer)")
        per_layer = worst_layers(src, fm, x_cal)
    params = macs = None
    if fm.keras_model is not None:
        from edgekit.analysis import analyze_keras

        report = analyze_keras(fm.keras_model, name=src.name)
        params, macs = report.params, report.macs
    calib = {"source": data.source, "samples": len(x_cal), "held_out_source": data.held_out_source,
             "held_out": len(x_held)}
    return _Prepared(x_cal if n_cal else None, x_held, reference, calib, params, macs, settled, pre, labels,
                     tuple(per_layer))


def _convert_prepared(src: Source, prep: _Prepared, folder: Path, config: QuantConfig, progress: Progress | None,
                      say: Notify, *, fixed=None):
    from converters.tflite import to_tflite

    n_cal = 0 if prep.x_cal is None else len(prep.x_cal)
    if n_cal:
        say(f"calibrating on {n_cal} samples from {prep.calib['source']}")
        if progress:
            progress(0, n_cal)
    t0 = time.perf_counter()
    model = to_tflite(src, folder, config, prep.x_cal,
                      (lambda done: progress(done, n_cal)) if progress and n_cal else None,
                      from_keras=src.kind != "savedmodel", fixed=fixed)
    seconds = time.perf_counter() - t0
    fidelity = compare(prep.reference, run_tflite(model, prep.x_held), prep.calib["held_out_source"])
    from edgekit.analysis import analyze_graph, parse_tflite

    graph = parse_tflite(model, "the converted model")
    cost = {"params": prep.params, "macs": prep.macs}
    if prep.params is None:
        report = analyze_graph(graph, src.name)
        cost = {"params": report.params, "macs": report.macs}
    meta = sidecar(src, config, graph, prep.pre, prep.labels or list(src.labels) or imagenet_labels(src),
                   cost, prep.calib, fidelity.to_dict(), seconds)
    if prep.settled:
        meta["source"]["batchnorm_settled_on"] = prep.settled
    if prep.per_layer:
        meta["per_layer"] = list(prep.per_layer)
    return model, meta


def _settle_random_zoo(src: Source, fm: FloatModel, pre: Preprocess, warn: Notify) -> str | None:
    """Give a random-initialised zoo model real BatchNorm statistics; see ``settle_batchnorm``."""
    if src.kind != "zoo" or src.build_args.get("weights"):
        return None
    x = apply(cal.photos(fm.input_shape[:2], 8, cal.SEED + 2), pre) if fm.input_shape[2] == 3 \
        else apply(cal.digits(fm.input_shape[:2], 8, cal.SEED), pre)
    if not settle_batchnorm(fm.keras_model, x):
        return None
    what = f"8 built-in {'photos' if fm.input_shape[2] == 3 else 'digits'}"
    warn(f"{src.name} has random weights (no --weights): its BatchNorm statistics were set from {what} "
         "so that activations have realistic ranges")
    return what


def _batched(fm: FloatModel, x: np.ndarray) -> np.ndarray:
    return np.concatenate([fm.run(x[i:i + 8]) for i in range(0, len(x), 8)]) if len(x) else x


def _finish(out: Path, model: bytes, meta: dict, config: QuantConfig, started: float, cached: bool,
            notes: tuple[str, ...], per_layer, say: Notify) -> ConversionResult:
    tpu = compile_model(out) if config.edgetpu else None
    if tpu is not None and not tpu.compiled:
        say(f"warning: {tpu.message}")
    fid = Fidelity(**meta["fidelity"]) if meta.get("fidelity") else None
    return ConversionResult(out, sidecar_path(out), config.tag, len(model), meta["params"] * 4,
                            time.perf_counter() - started, meta["conversion_seconds"], cached, fid, meta, tpu,
                            tuple(per_layer or meta.get("per_layer", ())), notes)
