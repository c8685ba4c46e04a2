"""What ``edgekit study`` will do: the validated arguments and the grid of model x quant x target (its forecast is
``edgekit.study.forecast``, its --host and --serial pairs ``edgekit.study.target_options``).

Everything here is checked before any work starts, so a typo costs nothing. No TensorFlow, no matplotlib.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from edgekit.errors import UsageError

DEFAULT_MODELS = ("lenet5", "alexnet", "vgg16", "resnet50", "googlenet", "mobilenet", "mobilenetv2")
QUICK_MODELS = ("lenet5", "vgg16", "resnet50", "mobilenet", "mobilenetv2")
DEFAULT_QUANTS = ("fp32", "fp16", "int8")
QUICK_QUANTS = ("fp32", "int8")
DEFAULT_TARGETS = ("cpu", "rpi4", "coral-usb")

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
    records: dict = field(default_factory=dict, compare=False, repr=False)  # target key -> Target, parsed once

    def __post_init__(self) -> None:
        """Each target's record, parsed once here (``targets.registry.get_target``): the study asks for it by key."""
        from targets.registry import get_target

        object.__setattr__(self, "records", {key: get_target(key) for key in self.targets})

    def target(self, key: str):
        """The ``targets.registry.Target`` of a target key in ``targets``."""
        return self.records[key]

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
        return self.target(target).method(host=target in self.hosts or target in self.serials)

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
    from edgekit.app.bench_request import parse_list

    items = parse_list(text, what, (lambda s: s.lower()) if lower else str) if text is not None else list(default)
    return list(dict.fromkeys(items))


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
    from edgekit.study.target_options import check_phones, parse_hosts, parse_serials
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
    benchmark_binary = check_phones(phones, target_list, benchmark_binary)
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
