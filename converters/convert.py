"""``convert``: source in, ``.tflite`` and sidecar out, with a fidelity report; cached by content."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from converters import cache, memory
from converters import calibration as cal
from converters.conversion_result import ConversionResult
from converters.edgetpu import compile_model
from converters.fidelity import Fidelity
from converters.output import check_output, default_output, sidecar_path, write_pair
from converters.own_preprocess import own_preprocess
from converters.prepared import HELD_OUT, Prepared, prepare_float, require_preprocess, sidecar_of
from converters.preprocess import PRESETS, parse_preprocess
from converters.source import FloatModel, Source, resolve, source_doc
from edgekit import __version__, interrupt
from edgekit.errors import EdgekitError, UsageError
from edgekit.models.registry import FIGURES, Preprocess, get_spec
from edgekit.quant_modes import QuantConfig, QuantMode
from edgekit.tempdirs import temp_dir

DEFAULT_SAMPLES = 20  # ~0.3 s each for MobileNet v2 at 224 on 2 cores: a cold int8 run stays under 40 s

Progress = Callable[[int, int], None]  # (done, total) while calibrating
Notify = Callable[[str], None]  # a warning or a status line for the user


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
    say = notify or (lambda _msg: None)
    own = None
    if pre is None and src.preprocess is None and src.kind == "keras":
        own = own_preprocess(src.path)
        if own is not None and own.preset:
            pre = PRESETS[own.preset]
            say(f"preprocess {own.preset}: {own.why}")
    out = check_output(Path(output) if output else default_output(src.name, config.tag), force)
    spec = cal.parse_calibration(calibration, 1 if src.build_args.get("input_shape", [0, 0, 3])[2] == 1 else 3)
    notes: list[str] = []

    def warn(msg: str) -> None:
        notes.append(msg)
        say(f"warning: {msg}")

    key = cache.key({"source": src.digest, "mode": config.tag, "per_layer": config.per_layer,
                     "calibration": spec.key() if calibration else "default", "samples": samples,
                     "held_out": HELD_OUT, "labels": labels, "preprocess": pre.to_dict() if pre else None,
                     "tf": cache.tf_version(), "edgekit": __version__, "graph": "batch1"})
    cache_warn = (lambda msg: say(f"warning: {msg}")) if notify else None  # else stderr, as edgekit: warning:
    hit = cache.get(key, cache_warn) if use_cache else None
    if hit is not None:
        model, meta = hit[0], hit[1]["sidecar"]
        write_pair(out, model, meta, force)
        return _finish(out, model, meta, config, started, True, tuple(hit[1].get("warnings", ())), (), say)
    if cache_only:
        raise NotCached(f"{src.describe()} in {config.tag} is not in the conversion cache")
    reset = memory.peak_rss_reset()
    require_preprocess(src, config, pre, warn, hint=own.why if own else None)
    args = {"spec": spec, "explicit_calibration": calibration is not None, "samples": samples, "pre": pre,
            "labels": labels, "warn": warn, "say": say}
    if staged(src, config):
        if memory_check:
            _check_memory(src, config, weight_bytes_hint(src), staged=True)
        model, meta, per_layer, peaks = _convert_staged(src, config, args, progress, say)
    else:
        model, meta, per_layer = _convert_here(src, config, args, progress, say, memory_check)
        peaks = {}
    peak = max([memory.peak_rss() or 0, *(int(mb * memory.MB) for mb in peaks.values())]) or None
    meta["conversion_peak_rss_mb"] = None if peak is None else round(peak / memory.MB)
    meta["conversion_peak_rss_method"] = (
        "VmHWM of each of the conversion's processes (" + ", ".join(peaks) + "; the largest)" if peaks
        else "VmHWM of the converting process, reset when this conversion started" if reset
        else "peak resident set of the whole converting process")
    if peaks:
        meta["conversion_stage_peak_rss_mb"] = peaks
    meta["conversion_wall_seconds"] = round(time.perf_counter() - started, 3)  # building, converting, checking
    if (meta.get("fidelity") or {}).get("flat"):
        warn(f"the fidelity check cannot inform: {meta['fidelity']['flat']}")
    interrupt.check()  # nothing is cached or written after Ctrl-C, even one that TF's clean-up swallowed
    cache.put(key, model, {"sidecar": meta, "warnings": notes, "per_layer": list(per_layer)}, cache_warn)
    write_pair(out, model, meta, force)
    return _finish(out, model, meta, config, started, False, tuple(notes), per_layer, say)


class NotCached(EdgekitError):
    """``convert(..., cache_only=True)`` found no cache entry."""


class MemoryShortage(EdgekitError):
    """A conversion expected to need more memory than is available (issue 22); ``--force`` converts anyway."""


def staged(src: Source, config: QuantConfig) -> bool:
    """Whether to convert in stages (``converters.stages``): for a model of ``memory.STAGED_FROM_BYTES`` of float
    weights or more (VGG-16 553 MB, AlexNet 249 MB; ResNet-50's 103 MB converts in one process under 3 GB). Each
    stage starts TensorFlow again (a few seconds), which a small model does not repay. A Keras object handed to the
    API, a SavedModel traced again at ``--input-size`` and ``--per-layer`` convert in one process."""
    hint = weight_bytes_hint(src)
    return (hint is not None and hint >= memory.STAGED_FROM_BYTES and src.kind in ("zoo", "keras", "savedmodel")
            and not (src.kind == "savedmodel" and src.build_args.get("input_size")) and not config.per_layer)


def runs_staged(model_or_path, mode: str | QuantMode | QuantConfig = QuantMode.FP32) -> bool:
    """Whether :func:`convert` would run this conversion in stages (no TensorFlow in the calling process)."""
    config = mode if isinstance(mode, QuantConfig) else QuantConfig(mode)
    return staged(resolve(model_or_path), config)


def weight_bytes_hint(src: Source) -> int | None:
    """The float weight bytes, before the model is built or loaded (no TensorFlow): a zoo model's parameter count
    at its default input, a ``.keras``/``.h5`` file's size, a SavedModel's variables; None when unknown."""
    if src.kind == "zoo":
        spec = get_spec(src.build_args["name"])
        if list(spec.input_shape(None)) != list(src.build_args["input_shape"]):
            return None
        return FIGURES[spec.name].params * 4
    if src.kind == "keras":
        return src.path.stat().st_size
    if src.kind == "savedmodel":
        return sum(f.stat().st_size for f in (src.path / "variables").glob("*") if f.is_file())
    return None


def _check_memory(src: Source, config: QuantConfig, weight_bytes: int, *, staged: bool) -> None:
    check = memory.check(src.name, config.mode.value, weight_bytes, staged=staged)
    if not check.fits:
        raise MemoryShortage(f"{check.message()}; free some memory, or pass --force to convert anyway")


def _guard(src: Source, fm: FloatModel, config: QuantConfig) -> None:
    weight_bytes = int(fm.keras_model.count_params()) * 4 if fm.keras_model is not None else weight_bytes_hint(src)
    _check_memory(src, config, weight_bytes, staged=False)


def _convert_here(src: Source, config: QuantConfig, args: dict, progress: Progress | None, say: Notify,
                  memory_check: bool):
    """The conversion in this process: (model, sidecar, per-layer rows)."""
    from converters.tflite import to_tflite

    guard = (lambda fm: _guard(src, fm, config)) if memory_check else None
    with temp_dir("savedmodel") as tmp:
        prep, folder, fixed = prepare_float(src, config, folder=tmp, guard=guard, **args)
        n_cal = _say_calibrating(prep, progress, say)
        t0 = time.perf_counter()
        model = to_tflite(src, folder, config, prep.x_cal,
                          (lambda done: progress(done, n_cal)) if progress and n_cal else None,
                          from_keras=src.kind != "savedmodel", fixed=fixed)
        seconds = time.perf_counter() - t0
    return model, sidecar_of(src, prep, model, config, seconds), prep.per_layer


def _convert_staged(src: Source, config: QuantConfig, args: dict, progress: Progress | None, say: Notify):
    """The conversion as a chain of processes (``converters.stages``): (model, sidecar, per-layer rows, the peak
    memory of each stage in MB)."""
    from converters.stages import run_chain

    spec = args["spec"]
    job = {"source": source_doc(src), "mode": config.mode.value, "float_io": config.float_io,
           "calibration": (str(spec.path) if spec.path else spec.origin) if args["explicit_calibration"] else None,
           "samples": args["samples"], "labels": args["labels"],
           "preprocess": args["pre"].to_dict() if args["pre"] else None}
    n_cal = args["samples"] if config.spec.calibrated else 0
    calibrating = (lambda done: progress(done, n_cal)) if progress and n_cal else None
    if n_cal:
        say(f"calibrating on {n_cal} samples (the conversion runs as a chain of processes: {src.name} is large)")
    with temp_dir("stages") as tmp:
        model, reports = run_chain(tmp, job, config, progress=calibrating)
        prep = Prepared.load(tmp)
    for note in reports["prepare"]["notes"]:
        args["warn"](note)
    seconds = sum(r["seconds"] for stage, r in reports.items() if stage != "prepare")
    meta = sidecar_of(src, prep, model, config, seconds)
    if "quantize" in reports:
        meta["conversion_dense_layers_in_pieces"] = reports["quantize"]["chunked"]
    return model, meta, prep.per_layer, {stage: r["peak_rss_mb"] for stage, r in reports.items()}


def _say_calibrating(prep: Prepared, progress: Progress | None, say: Notify) -> int:
    n_cal = 0 if prep.x_cal is None else len(prep.x_cal)
    if n_cal:
        say(f"calibrating on {n_cal} samples from {prep.calib['source']}")
        if progress:
            progress(0, n_cal)
    return n_cal


def _finish(out: Path, model: bytes, meta: dict, config: QuantConfig, started: float, cached: bool,
            notes: tuple[str, ...], per_layer, say: Notify) -> ConversionResult:
    tpu = compile_model(out) if config.edgetpu else None
    if tpu is not None and not tpu.compiled:
        say(f"warning: {tpu.message}")
    fid = Fidelity(**meta["fidelity"]) if meta.get("fidelity") else None
    return ConversionResult(out, sidecar_path(out), config.tag, len(model), meta["params"] * 4,
                            time.perf_counter() - started, meta["conversion_seconds"], cached, fid, meta, tpu,
                            tuple(per_layer or meta.get("per_layer", ())), notes)
