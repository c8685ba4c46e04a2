"""The study's grid cells as files and keys: where each model x quant x variant's .tflite lives, what makes two
measurements the same (``study_key``), the threads each target runs at, and the predicted wall time of a plan."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from edgekit.study.forecast import eta_convert, eta_measure, eta_train
from edgekit.study.plan import StudyPlan, models_dir
from targets.registry import Method


@dataclass
class Converted:
    """One model x quant x variant as a file, with what the converter and the analysis know of it."""

    path: Path
    params: int
    input_shape: tuple[int, ...]
    cost: object  # edgekit.analysis.CostReport of the .tflite
    graph: object
    digest: str


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def tflite_path(plan: StudyPlan, variant: str, model: str, quant: str) -> Path:
    tag = "_quick" if plan.quick else ""
    user = plan.user_model(model)
    if user is not None:  # a .tflite file as it is; a Keras model's conversions, one per source and options
        if not user.converted_here:
            return Path(user.path)
        key = "|".join(str(x) for x in (Path(user.path).resolve(), user.preprocess, user.calibration))
        return models_dir() / "user" / f"{model}_{hashlib.sha256(key.encode()).hexdigest()[:8]}_{quant}{tag}.tflite"
    if variant == "zoo":
        return models_dir() / f"{model}_{quant}{tag}.tflite"
    return models_dir() / "trained" / f"{model}_{_data_tag(plan)}{tag}_{quant}.tflite"


def _data_tag(plan: StudyPlan) -> str:
    if plan.data.origin == "digits":
        return "digits"
    return "data-" + hashlib.sha256(str(Path(plan.data.path).resolve()).encode()).hexdigest()[:8]


def trained_path(plan: StudyPlan, model: str) -> Path:
    tag = "_quick" if plan.quick else ""
    return models_dir() / "trained" / f"{model}_{_data_tag(plan)}{tag}.keras"


def study_key(digest: str, target: str, threads: int | None, plan: StudyPlan) -> str:
    """What makes two measurements the same: the file's content, where and how it ran."""
    s = plan.settings
    where = plan.hosts.get(target) or plan.serials.get(target, "")
    parts = [digest, target, str(threads), where, str(s.runs), str(s.min_seconds),
             str(s.warmup), f"rounds={s.rounds}", f"budget={s.budget:g}", f"warmup_s={s.warmup_seconds:g}"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


LOCAL_CPU_THREADS = 1


def threads_for(plan: StudyPlan, target: str) -> int | None:
    """None on the GPU; else --threads; else 1 on this machine's CPU, every core of a board and one thread per
    big core of a phone (``targets.estimate_cpu.default_threads``, as its estimate; 4 for ``android``).

    This machine is measured at ``LOCAL_CPU_THREADS`` (1), the default of ``edgekit bench`` and of TFLite's
    ``benchmark_model`` (``--num_threads``), so the study's cpu rows are what ``edgekit bench`` gives. It also
    leaves the study's own process and the OS a core: measured with every core, each op waits for its slowest
    thread, and whatever else runs lands on one of them (on a 2-core machine, docs/measuring.md)."""
    method = plan.method(target)
    if method is Method.GPU:
        return None
    if plan.threads is not None:
        return plan.threads
    if method is Method.LOCAL:
        return LOCAL_CPU_THREADS
    from targets.estimate_cpu import default_threads

    cpu = plan.target(target).cpu
    if cpu is None and method is Method.ADB:
        from edgekit.study.phones import PHONE_THREADS

        return PHONE_THREADS
    return default_threads(cpu) if cpu else None


def expected_seconds(plan: StudyPlan, store) -> tuple[float, dict]:
    """Predicted wall time, and what is already done (files converted, measurements in the database)."""
    from edgekit.study.forecast import STUDY_FIXED_S, learned_convert_scale

    s = plan.settings
    scale, _ = learned_convert_scale(s)
    total, done = STUDY_FIXED_S, {"conversions": 0, "measurements": 0}
    digests: dict[Path, str | None] = {}
    for cell in plan.cells():
        path = tflite_path(plan, cell.variant, cell.model, cell.quant)
        if path not in digests:
            digests[path] = file_digest(path) if path.is_file() else None
            if digests[path] is None:
                total += eta_convert(cell.model, cell.quant, s, scale) * (0.3 if cell.variant == "trained" else 1)
            else:
                done["conversions"] += 1
        if not plan.measured_here(cell.target):
            continue
        key = digests[path] and study_key(digests[path], cell.target, threads_for(plan, cell.target), plan)
        if key and store.find("study_key", key) is not None:
            done["measurements"] += 1
        else:
            total += eta_measure(cell.model, s, cell.quant) * (0.1 if cell.variant == "trained" else 1)
    if plan.data is not None:
        for m in plan.models:
            if not trained_path(plan, m).is_file():
                total += eta_train(m, s)
    return total, done
