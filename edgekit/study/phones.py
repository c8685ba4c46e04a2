"""The study's phone targets measured over adb (``--serial TARGET=SERIAL``), through ``edgekit bench --serial``'s
path: ``targets.android.measure_phone`` runs every cell of the target on the phone in interleaved rounds, after
checking that the phone is the target it is named as. Without a serial a phone target is estimated, like any
device target (``edgekit.study.collect``)."""

from __future__ import annotations

from collections.abc import Callable

from edgekit.result import Result
from edgekit.study.study_row import StudyRow

PHONE_THREADS = 4  # --target android has no CPU record: the threads edgekit bench --serial uses by default


def measure_phone_cells(plan, target: str, configs: list, convs: list, protocol,
                        keep: Callable[[int, Result], None]) -> None:
    """The cells (``bench.runner.Config``) of one phone target; ``keep(i, result)`` as each is final. A phone
    that cannot be reached, is not the target, or is unplugged fails the cells it had not finished."""
    from bench.result import failure_result
    from targets.android import PhoneConfig, measure_phone
    from targets.android_result import to_result
    from targets.benchmark_model import BenchmarkArgs

    serial, s = plan.serials[target], plan.settings
    phone_cfgs = [PhoneConfig(c.path, BenchmarkArgs(c.threads, warmup_runs=s.warmup, num_runs=s.runs))
                  for c in configs]
    index = {c: i for i, c in enumerate(phone_cfgs)}
    outcomes: dict = {}

    def one(cfg, rounds) -> None:
        i = index[cfg]
        result = to_result(cfg, rounds, outcomes[serial], target=target, model=configs[i].model,
                           quant=configs[i].quant, macs=convs[i].cost.macs)
        keep(i, result.with_keys(host=serial))

    outcome = measure_phone(serial, phone_cfgs, plan.benchmark_binary, protocol=protocol, on_result=one,
                            outcome_hook=outcomes.__setitem__, target=plan.target(target))
    if outcome.error is not None:
        done = {index[cfg] for cfg, _ in outcome.measured}
        for i, cfg in enumerate(configs):
            if i not in done:
                keep(i, failure_result(cfg, outcome.error))


def phone_lines(rows: list[StudyRow]) -> list[str]:
    """Under the table, one line per phone target: how it was served (estimated on which cores, with what error;
    or measured in an ``adb shell`` on which phone), and what it has no figure for, said plainly."""
    out = []
    for target in dict.fromkeys(r.target for r in rows if (r.result.extra.get("device") or {}).get("soc")
                                or r.result.extra.get("execution_context") == "adb shell"):
        record = next(r.result for r in rows if r.target == target and not r.result.failed)
        extra, energy = record.extra, record.energy
        device = extra.get("device") or {}
        if record.measured:
            mask = extra.get("taskset_mask")
            how = (f"measured in an adb shell on {extra.get('host')} ({device.get('phone')}, {device.get('soc')}), "
                   + (f"taskset mask {mask}" if mask else "not pinned (no cpufreq to rank its cores)"))
            if extra.get("emulated"):
                how += "; emulated (edgekit's benchmark_model test double): not a phone's speed"
        else:
            cores = ", ".join(device.get("cores_assumed") or [])
            how = (f"estimated ({device.get('soc')}, {record.threads} threads on {cores}), ±"
                   f"{record.expected_error_pct}% est., the phone family's held-out error (docs/estimates.md); "
                   "no GPU estimate")
            if energy is not None and energy.mj is None and energy.note:
                how += f"; {energy.note}"
        out.append(f"- phone {target}: {how}")
    return ["", *out] if out else []
