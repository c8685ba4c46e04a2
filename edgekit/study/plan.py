"""What ``edgekit study`` will do: the validated arguments, the grid of model x quant x target, and its ETA.

Everything here is checked before any work starts, so a typo costs nothing. No TensorFlow, no matplotlib.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from edgekit.errors import UsageError

DEFAULT_MODELS = ("lenet5", "alexnet", "vgg16", "resnet50", "googlenet", "mobilenet", "mobilenetv2")
QUICK_MODELS = ("lenet5", "vgg16", "resnet50", "mobilenet", "mobilenetv2")
DEFAULT_QUANTS = ("fp32", "fp16", "int8")
QUICK_QUANTS = ("fp32", "int8")
DEFAULT_TARGETS = ("cpu", "rpi4", "coral-usb")

# Published cost at the default input, GMACs and millions of parameters (the papers), used only to predict how
# long a conversion or a measurement will take before the model is built. Results never use these.
_SIZE_HINT = {"lenet5": (0.0004, 0.06), "alexnet": (0.72, 61.0), "vgg16": (15.5, 138.0), "resnet18": (1.8, 11.7),
              "resnet34": (3.6, 21.8), "resnet50": (3.9, 25.6), "googlenet": (1.5, 7.0),
              "inceptionv3": (5.7, 23.9), "mobilenet": (0.57, 4.2), "mobilenetv2": (0.30, 3.5)}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How hard to measure and calibrate. ``--quick`` trades statistics for time; each result records them.

    Both use the same protocol (docs/measuring.md): ``rounds`` interleaved rounds per measured cell, each in a
    fresh process timing ``runs`` calls and ``min_seconds`` after warmup; noisy cells get more rounds while the
    target's measuring stays within ``budget`` seconds."""

    runs: int
    min_seconds: float
    warmup: int
    rounds: int
    budget: float
    warmup_seconds: float  # a round's warmup stops here even when the latency has not settled
    samples: int  # calibration samples for int8 / int16x8
    epochs: int | None  # training epochs with --data; None is the recipe's

    def to_dict(self) -> dict:
        return {"runs": self.runs, "min_seconds": self.min_seconds, "warmup": self.warmup, "rounds": self.rounds,
                "budget_s": self.budget, "warmup_seconds": self.warmup_seconds, "calibration_samples": self.samples,
                "epochs": self.epochs}

    def protocol(self):
        from bench.protocol import Protocol

        return Protocol(min_rounds=self.rounds, max_rounds=max(30, self.rounds), budget_s=self.budget)


FULL = Settings(runs=20, min_seconds=0.5, warmup=1, rounds=10, budget=900.0, warmup_seconds=2.0, samples=20,
                epochs=None)
QUICK = Settings(runs=3, min_seconds=0.1, warmup=1, rounds=6, budget=120.0, warmup_seconds=0.5, samples=8,
                 epochs=5)


@dataclass(frozen=True)
class StudyPlan:
    """The validated arguments of one study."""

    models: tuple[str, ...]
    quants: tuple[str, ...]
    targets: tuple[str, ...]
    hosts: dict = field(default_factory=dict)  # target key -> host text
    serials: dict = field(default_factory=dict)  # phone target key -> adb serial (--serial TARGET=SERIAL)
    benchmark_binary: Path | None = None  # LiteRT's android_arm64 benchmark_model, for the phones measured
    data: object | None = None  # an edgekit.data.DataSource
    threads: int | None = None
    quick: bool = False
    out: Path = Path("study")
    force: bool = False
    db: Path | None = None
    skipped: tuple[tuple[str, str], ...] = ()  # (model, why): left out by the memory guard
    user: tuple = ()  # edgekit.study.models.StudyModel of each user model (a file), by name in ``models``

    def user_model(self, name: str):
        """The user's model of that name (``edgekit.study.models.StudyModel``), or None for a zoo model."""
        return next((m for m in self.user if m.name == name), None)

    def quants_of(self, model: str) -> tuple[str, ...]:
        """A .tflite file's own quantization; every --quant for the others."""
        m = self.user_model(model)
        return (m.quant,) if m is not None and m.quant else self.quants

    @property
    def settings(self) -> Settings:
        return QUICK if self.quick else FULL

    def cells(self) -> list[Cell]:
        """The grid, model-major so that each model converts once per quant and is then measured everywhere."""
        variants = ("zoo", "trained") if self.data is not None else ("zoo",)
        return [Cell(m, q, t, v) for v in variants for m in self.models for q in self.quants_of(m)
                for t in self.targets if v == "zoo" or self.user_model(m) is None]

    def method(self, target: str):
        """How ``target`` is served in this study (``targets.registry.Method``): measured here, on its --host,
        estimated, or run in TFLite Micro."""
        from targets.registry import get_target

        return get_target(target).method(host=target in self.hosts or target in self.serials)

    def measured_here(self, target: str) -> bool:
        from targets.registry import Method

        return self.method(target) in (Method.LOCAL, Method.GPU, Method.REMOTE, Method.ADB)

    def warnings(self) -> list[str]:
        """What the CLI warns of before the work starts: --threads past this machine's cores when its CPU is
        measured here (each of those results records it too, ``bench.result.threads_warning``)."""
        from bench.machine import usable_cores
        from bench.result import threads_warning
        from targets.registry import Method

        here = any(self.method(t) is Method.LOCAL for t in self.targets)
        lines = [w for w in [threads_warning(self.threads, usable_cores())] if w and here]
        return lines

    def to_dict(self) -> dict:
        return {"models": list(self.models), "quants": list(self.quants), "targets": list(self.targets),
                "hosts": dict(self.hosts), "serials": dict(self.serials),
                "data": self.data.describe() if self.data else None,
                "threads": self.threads, "quick": self.quick, "settings": self.settings.to_dict(),
                "skipped": [{"model": m, "reason": why} for m, why in self.skipped],
                "user_models": [m.to_dict() for m in self.user]}


class Cell(NamedTuple):
    model: str
    quant: str
    target: str
    variant: str  # "zoo": default input, random weights; "trained": small input trained on --data


def _names(text: str | None, default: tuple[str, ...], what: str, lower: bool = True) -> list[str]:
    from edgekit.app.sources import parse_list

    items = parse_list(text, what, (lambda s: s.lower()) if lower else str) if text is not None else list(default)
    return list(dict.fromkeys(items))


def _target_pairs(values: list[str] | None, targets: list[str], *, option: str, usage: str, one: str,
                  check: Callable[[str, object, str], None], refused: tuple[str, ...] = (),
                  then: Callable[[str], None] | None = None) -> dict:
    """``TARGET=VALUE`` options (``--host``, ``--serial``) as ``{target key: value}``, in one loop: each well
    formed (else "``option`` TEXT must be ``usage``"; a value in ``refused`` too), its target known, passing
    ``check(text, target, value)``, in --targets, named once ("give one ``one`` per target"), then ``then(value)``."""
    from targets.registry import get_target

    pairs = {}
    for text in values or []:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip() or value.strip() in refused:
            raise UsageError(f"{option} {text!r} must be {usage}")
        target = get_target(name.strip())  # an unknown target: "unknown target ..., choose from ..."
        check(text, target, value.strip())
        if target.key not in targets:
            raise UsageError(f"{option} {text!r}: {target.key} is not in --targets ({', '.join(targets)}); add it")
        if target.key in pairs:
            raise UsageError(f"{option} names {target.key} twice; give one {one} per target")
        if then is not None:
            then(value.strip())
        pairs[target.key] = value.strip()
    return pairs


def parse_hosts(values: list[str] | None, targets: list[str]) -> dict:
    """``["rpi4=pi@raspberrypi"]`` -> ``{"rpi4": "pi@raspberrypi"}``, each target known, remote and studied."""
    from targets.registry import Reach

    def check(text: str, target, host: str) -> None:
        if target.reach is Reach.LOCAL:
            raise UsageError(f"--host {text!r}: {target.key} is this machine and is measured here; --host is for "
                             "device targets (rpi4, rpi5, coral-usb, ...)")
        if target.reach is Reach.ADB:
            raise UsageError(f"--host {text!r}: {target.key} is a phone, measured over adb; give it as --serial "
                             f"{target.key}=SERIAL")
        if target.reach is Reach.MCU:
            raise UsageError(f"--host {text!r}: {target.key} is a microcontroller, run in TFLite Micro on this machine "
                             "with its latency estimated; drop --host for it")

    return _target_pairs(values, targets, option="--host", one="host", check=check, then=_check_host,
                         usage="TARGET=HOST, e.g. --host rpi4=pi@raspberrypi.local")


def parse_serials(values: list[str] | None, targets: list[str]) -> dict:
    """``["pixel4=0A1B2C"]`` -> ``{"pixel4": "0A1B2C"}``: each a phone target (or ``android``) in --targets, once."""
    from targets.registry import Reach

    usage = "TARGET=SERIAL (a serial from `adb devices`), e.g. --serial pixel4=0A1B2C3D"

    def check(text: str, target, _serial: str) -> None:
        if target.reach is not Reach.ADB:
            raise UsageError(f"--serial {text!r}: {target.key} is not a phone; --serial is for phone targets "
                             "(android, pixel4, a TOML phone) and --host for boards")

    return _target_pairs(values, targets, option="--serial", usage=usage, one="phone", check=check,
                         refused=("all",))


def _check_phones(serials: dict, targets: list[str], binary: Path | None) -> Path | None:
    """``android`` needs its serial; measuring a phone needs the benchmark_model binary (``--benchmark-binary``,
    or the one ``edgekit android fetch`` installed), checked now. Returns the binary to push."""
    if "android" in targets and "android" not in serials:
        raise UsageError("--targets android measures a phone as what it is and has no estimate; add --serial "
                         "android=SERIAL, or name the phone's target (pixel4, a TOML phone) to estimate it")
    if not serials:
        if binary is not None:
            raise UsageError("--benchmark-binary is for phones measured with --serial TARGET=SERIAL; add one or "
                             "drop it")
        return None
    from edgekit.app.android import phone_binary

    return phone_binary(binary)


def _check_host(host: str) -> None:
    from targets.ssh import parse_host

    parse_host(host)


def make_plan(*, models: str | None, quants: str | None, targets: str | None, hosts: list[str] | None,
              data: str | None, threads: int | None, quick: bool, out: Path, force: bool,
              db: Path | None, serials: list[str] | None = None,
              benchmark_binary: Path | None = None) -> StudyPlan:
    """Validate every argument; the first problem is a UsageError naming it and what is allowed."""
    from edgekit.app.bench_request import MAX_THREADS
    from edgekit.limits import whole
    from edgekit.models.ref import ModelRef
    from edgekit.quant_modes import get_mode
    from edgekit.study.models import parse_models
    from targets.registry import get_target

    chosen = parse_models(_names(models, QUICK_MODELS if quick else DEFAULT_MODELS, "--models", lower=False))
    for m in chosen:
        if m.source is None:
            ModelRef.parse(m.name).require_tensorflow(command="study")
    model_list = [m.name for m in chosen]
    user = tuple(m for m in chosen if m.source is not None)
    quant_list = [get_mode(q).mode.value for q in _names(quants, QUICK_QUANTS if quick else DEFAULT_QUANTS,
                                                         "--quant")]
    target_list = list(dict.fromkeys(get_target(t).key for t in _names(targets, DEFAULT_TARGETS, "--targets")))
    if "auto" in target_list and not any(h.partition("=")[0].strip().lower() == "auto" for h in hosts or []):
        raise UsageError("--targets auto measures a device as what it is and has no estimate; add --host "
                         "auto=HOST, or name the device's target (rpi4, rpi5, ...)")
    phones = parse_serials(serials, target_list)
    benchmark_binary = _check_phones(phones, target_list, benchmark_binary)
    whole("--threads", threads, high=MAX_THREADS)
    source = None
    if data is not None:
        from edgekit.data import parse_data

        source = parse_data(data)
    from edgekit.study.report import check_out

    out = Path(out).expanduser()
    check_out(out, force)  # a special file, a file, or a folder holding more than an earlier study: refused now
    return StudyPlan(models=tuple(model_list), quants=tuple(quant_list), targets=tuple(target_list),
                     hosts=parse_hosts(hosts, target_list), serials=phones, benchmark_binary=benchmark_binary,
                     data=source, threads=threads, quick=quick, out=out, force=force, db=db, user=user)


def models_dir() -> Path:
    """Where the study keeps its converted files (beside edgekit bench's): ``$EDGEKIT_BENCH_DIR/study``."""
    return Path(os.environ.get("EDGEKIT_BENCH_DIR", "~/.edgekit/bench")).expanduser() / "study"


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


def memory_skips(plan: StudyPlan, converted: Callable[[str, str], bool]) -> dict[str, str]:
    """Models whose conversion is expected to need more memory than is available: model -> the one line that says
    so (``converters.memory``). ``converted(model, quant)`` is True for files already there, which cost nothing."""
    from converters import memory

    out = {}
    for model in plan.models:
        if plan.user_model(model) is not None:  # a user's model: no published size to check it by
            continue
        todo = [q for q in plan.quants if not converted(model, q)]
        checks = [memory.check(model, q, weight_bytes_hint(model)) for q in todo]
        worst = max(checks, key=lambda c: c.need, default=None)
        if worst is not None and not worst.fits:
            out[model] = worst.message()
    return out


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
