"""A phone's rounds as one ``edgekit.result.Result`` per configuration: the measuring context ("adb shell"), the
phone and SoC, the taskset mask, and the governor, thermal and battery records around the run."""

from __future__ import annotations

from edgekit.result import Figures, Kind, Latency, Result, Rounds
from targets.android import CONTEXT, PhoneConfig, PhoneOutcome

EMULATED = ("emulated: edgekit's benchmark_model test double ran this, not a phone; the figures are not a phone's "
            "speed")


def to_result(cfg: PhoneConfig, docs: list[dict], outcome: PhoneOutcome, *, target: str, model: str,
              quant: str | None, macs: int | None = None) -> Result:
    """The result of one configuration's rounds on one phone; ``macs``, where the caller analysed the
    model, gives the GMAC/s figure."""
    from pathlib import Path

    from bench.protocol import summarize_rounds
    from bench.provenance import provenance

    runs = [d["run"] for d in docs]
    s = summarize_rounds([r.summary_ms for r in runs])
    ident = outcome.identity
    emulated = any(r.emulated for r in runs)
    warnings = [EMULATED] if emulated else []
    status = [outcome.records.get(k, {}).get("thermal_status") for k in ("before", "after")]
    if any(d.get("cut_short") for d in docs):
        warnings.append(f"interrupted: {len(runs)} round(s) had finished; this figure is from those alone, so "
                        "measure again for a settled one")
    if any(x not in (None, "0") for x in status):
        warnings.append(f"thermal status {status[0]} before, {status[1]} after (0 = none): the phone may have "
                        "throttled; let it cool (docs/android.md)")
    figures = Figures(latency_ms=Latency(min=min(r.min_ms for r in runs), mean=sum(r.avg_ms for r in runs) / len(runs),
                                         std=None, p50=s.p50, max=max(r.max_ms for r in runs), ci95=s.ci95),
                      init_ms=runs[0].init_ms, first_ms=runs[0].first_ms, size_bytes=Path(cfg.path).stat().st_size,
                      macs=macs, gmacs_per_s=round(macs / s.p50 / 1e6, 3) if macs and s.p50 else None,
                      peak_rss_mb=max((r.peak_memory_mb for r in runs if r.peak_memory_mb is not None), default=None),
                      backend="gpu" if cfg.args.use_gpu else "xnnpack" if cfg.args.use_xnnpack else "builtin")
    rounds = Rounds(cv=s.cv, rounds=s.rounds, noisy=s.noisy, round_ms=tuple(r.summary_ms for r in runs),
                    round_ids=tuple(range(len(runs))), runs=runs[0].runs, warmup=cfg.args.warmup_runs,
                    warmup_runs=(), warmup_settled=True, batch=1, pinned_cores=docs[0]["taskset_mask"])
    prov = provenance()
    extra = {"edgekit": prov["edgekit"], "commit": prov["commit"], "time_utc": prov["time_utc"],
             "execution_context": CONTEXT, "serial": outcome.serial, "emulated": emulated,
             "device": {"phone": ident.name, "soc": ident.soc, "fingerprint": ident.props.get("ro.build.fingerprint"),
                        "abi": ident.props.get("ro.product.cpu.abi")},
             "taskset_mask": docs[0]["taskset_mask"], "command": docs[0]["command"], "phone_records": outcome.records}
    return Result(kind=Kind.MEASURED, target=target, model=model, quant=quant, threads=cfg.args.threads,
                  path=cfg.path, xnnpack=cfg.args.use_xnnpack, warnings=tuple(warnings), figures=figures,
                  rounds=rounds, extra=extra)
