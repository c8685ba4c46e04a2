"""How long ``edgekit study`` will take, forecast before any model is built: published sizes, and rates measured
on this project's machine, scaled by what this machine's earlier conversions took and how busy it is now.
"""

from __future__ import annotations

from edgekit.study.plan import Settings

# Published cost at the default input, GMACs and millions of parameters (the papers), used only before a model is
# built: to forecast how long its conversion and measurements take, and whether its conversion fits in memory (the
# memory guard, edgekit.study.memory_guard, which may leave the model out). No result is computed from them.
_SIZE_HINT = {"lenet5": (0.0004, 0.06), "alexnet": (0.72, 61.0), "vgg16": (15.5, 138.0), "resnet18": (1.8, 11.7),
              "resnet34": (3.6, 21.8), "resnet50": (3.9, 25.6), "googlenet": (1.5, 7.0),
              "inceptionv3": (5.7, 23.9), "mobilenet": (0.57, 4.2), "mobilenetv2": (0.30, 3.5)}


# The forecast's rates, measured on this project's 2-core x86 machine (TF 2.21, cold --quick studies in a fresh
# HOME, idle, issue 22). A conversion runs in its own process: start, TensorFlow import, building and preparing the
# float model, then the converter. The --quick models' cold conversions were timed whole (fp32, and int8 with 8
# calibration samples); other models use the formula: a start, a time per MB of float weights, and calibration
# (one float inference per sample in TF's calibrator). The time does not follow the weights alone: a deep graph
# (ResNet-50, MobileNet v2) converts slower than its weights say. A measurement round is a fresh process (start,
# TFLite runtime, load), warmup and timed runs at the rate below (one thread). Conversions already cached and
# measurements already in the results database cost nothing; earlier conversions in the cache scale the
# conversion time (:func:`learned_convert_scale`). Re-timed at 1762398 (the sidecars' conversion_wall_seconds plus
# 1 s of process start): VGG-16 converts as a chain of processes since then (converters.stages), 42 s in fp32 and
# 73 s in int8, where one process took 32 and 53 s but needed 7 GB.
_CONVERT_S = {"lenet5": (5.6, 5.4), "vgg16": (44.0, 75.0), "resnet50": (14.7, 20.4), "mobilenet": (8.0, 9.3),
              "mobilenetv2": (10.2, 11.4)}  # (fp32, int8 with 8 samples), seconds
CONVERT_START_S = 5.0
CONVERT_S_PER_WEIGHT_MB = {"fp32": 0.05, "fp16": 0.06, "int8": 0.05, "int16x8": 0.05}
CALIBRATE_S_PER_GMAC = 0.17  # per calibration sample
ROUND_START_S = 0.6
GMACS_PER_S = {"fp32": 45.0, "fp16": 45.0, "int8": 150.0, "int16x8": 60.0}  # one thread, XNNPACK
STUDY_FIXED_S = 9.0  # the plan, estimates for device targets, the layer breakdown, plots and the report (warm: 8-9 s)


def _hint(model: str) -> tuple[float, float]:
    return _SIZE_HINT.get(model, (2.0, 20.0))


def weight_bytes_hint(model: str) -> int:
    """Float32 weight bytes from the published parameter count (before the model is built)."""
    return int(_hint(model)[1] * 1e6 * 4)


def eta_convert(model: str, quant: str, settings: Settings, scale: float = 1.0) -> float:
    """Seconds a cold conversion takes in its own process; ``scale`` is :func:`learned_convert_scale`'s."""
    gmacs, mparams = _hint(model)
    calibrated = quant in ("int8", "int16x8")
    measured = _CONVERT_S.get(model)
    if measured is not None and quant in ("fp32", "int8"):
        seconds = measured[quant == "int8"] + (CALIBRATE_S_PER_GMAC * (settings.samples - 8) * gmacs
                                               if calibrated else 0.0)
    else:
        seconds = CONVERT_START_S + mparams * 4 * CONVERT_S_PER_WEIGHT_MB.get(quant, 0.05)
        if calibrated:
            seconds += CALIBRATE_S_PER_GMAC * settings.samples * gmacs
    return max(1.0, seconds) * scale


def learned_convert_scale(settings: Settings) -> tuple[float, int]:
    """How much slower (>1) or faster than the constants this machine's earlier cold conversions were: the median
    of recorded over predicted seconds (``conversion_wall_seconds`` in the sidecars of the conversion cache), and
    how many entries it rests on."""
    import json
    import statistics

    from converters.cache import cache_dir

    ratios = []
    for meta_file in (cache_dir() / "convert").glob("*/meta.json"):
        try:
            side = json.loads(meta_file.read_text())["sidecar"]
            model, quant = side["source"]["build_args"]["name"], side["quantization"]["mode"]
            recorded, samples = float(side["conversion_wall_seconds"]), side["calibration"]["samples"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if model not in _SIZE_HINT or side["source"]["build_args"].get("input_shape", [224])[0] < 200:
            continue
        predicted = eta_convert(model, quant, Settings(**{**settings.__dict__, "samples": samples or 8}))
        ratios.append(recorded / predicted)
    return (min(3.0, max(0.33, statistics.median(ratios))) if ratios else 1.0), len(ratios)


def eta_measure(model: str, settings: Settings, quant: str = "fp32") -> float:
    """Seconds one local measurement takes at the protocol's minimum rounds: each a fresh process, loading,
    warmup and timed runs."""
    gmacs, mparams = _hint(model)
    latency = gmacs / GMACS_PER_S.get(quant, 45.0)
    size_mb = mparams * (1 if quant in ("int8", "int16x8") else 2 if quant == "fp16" else 4)
    warm = max(settings.warmup * latency, min(settings.warmup_seconds, 2 * latency))
    one = ROUND_START_S + size_mb * 1e-3 + warm + max(settings.runs * latency, settings.min_seconds)
    return settings.rounds * one


def busy_factor(probe_s: float = 1.0) -> float:
    """How much longer CPU-bound work takes here now than on an idle machine: wall over CPU time of a short
    single-threaded busy loop (1.0 idle; 4 when other processes leave this one a quarter of a core). The forecast's
    rates are idle rates; a machine shared with other work stretches them by about this factor."""
    import time

    wall0, cpu0 = time.perf_counter(), time.process_time()
    n = 0
    while time.perf_counter() - wall0 < probe_s:
        n += sum(range(2000))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return max(1.0, min(10.0, wall / cpu)) if cpu > 0 else 1.0


def eta_train(model: str, settings: Settings, train_samples: int = 1437) -> float:
    """Seconds to train the small-input variant (32x32): forward and backward, about 3x the forward MACs."""
    gmacs, _ = _SIZE_HINT.get(model, (2.0, 20.0))
    epochs = settings.epochs or 30
    small = gmacs * (32 / 224) ** 2 if model != "lenet5" else gmacs
    return 10 + epochs * train_samples * 3 * small / 10.0
