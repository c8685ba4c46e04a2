"""The study as one document (what results.json holds), and its conclusion, computed from the rows.

Over 250 lines as one job: the conclusion's sentences (speed, energy, int8 against fp32, the user's models) share
the row picking and the number wording here. The rows are :class:`edgekit.study.study_row.StudyRow` records (the
document's ``rows``; ``edgekit.study.report`` writes their documents); the shared readers (``bench.compare``,
``bench.int8_why``) take each row's ``Result``.
"""

from __future__ import annotations

from edgekit.study.facts import published, seed_arithmetic
from edgekit.study.study_row import StudyRow

FORMAT = "edgekit-study/1"


class _Titles(dict):
    def __missing__(self, name: str) -> str:  # a user's model is called by its file's stem
        return name


def titles() -> dict:
    from edgekit.models.registry import REGISTRY

    return _Titles({spec.name.value: spec.title for spec in REGISTRY.values()})


def document(plan, collected, layers: dict, seconds: float) -> dict:
    """Everything the report shows, in the order it shows it (``rows``: the :class:`StudyRow` records, written as
    their documents by ``edgekit.study.report``)."""
    from bench.provenance import device, git_commit, utc_now
    from edgekit import __version__

    doc = {"format": FORMAT, "edgekit": __version__, "commit": git_commit(), "time_utc": utc_now(),
           "host": device(), "plan": plan.to_dict(), "seconds": seconds,
           "counts": {"rows": len(collected.rows), "measured_now": collected.new_measurements,
                      "reused_from_db": collected.reused_measurements, "estimated": collected.estimates,
                      "failed": collected.failures},
           "rows": collected.rows, "training": collected.accuracy,
           "user_accuracy": collected.user_accuracy,
           "published_imagenet_top1": published(list(plan.models)), "arithmetic": seed_arithmetic(),
           "layers": layers}
    doc["conclusion"] = conclusion(doc)
    return doc


def _how(*rows: StudyRow) -> str:
    kinds = {r.result.measured for r in rows}
    return "measured" if kinds == {True} else "estimated" if kinds == {False} else "measured and estimated"


def _pick(rows: list[StudyRow], target: str, model: str, quant: str, variant: str = "zoo") -> StudyRow | None:
    return next((r for r in rows if (r.target, r.model, r.quant, r.variant) == (target, model, quant, variant)
                 and r.result.p50_ms), None)


def _pair(rows: list[StudyRow], target: str) -> tuple[StudyRow, StudyRow] | None:
    """The cheap and the expensive row: MobileNet v2 int8 vs VGG-16 fp32 when studied, else fastest vs slowest."""
    fast = _pick(rows, target, "mobilenetv2", "int8")
    slow = _pick(rows, target, "vgg16", "fp32")
    on = [r for r in rows if r.target == target and r.variant == "zoo" and r.result.p50_ms]
    if not on:
        return None
    fast = fast or min(on, key=lambda r: r.result.p50_ms)
    slow = slow or max(on, key=lambda r: r.result.p50_ms)
    return None if fast is slow else (fast, slow)


def _scored(rows: list[StudyRow], target: str, row: StudyRow) -> StudyRow | None:
    """The row whose accuracy speaks for ``row``: a zoo model's trained small-input variant, a user's model's
    own row (scored as given)."""
    if row.user:
        return row
    return _pick(rows, target, row.model, row.quant, "trained")


def _accuracy_clause(doc: dict, target: str, fast: StudyRow, slow: StudyRow, t: dict) -> str:
    rows = [r for r in doc["rows"] if not r.result.failed]
    a, b = _scored(rows, target, fast), _scored(rows, target, slow)
    if a and b and a.accuracy_pct is not None and b.accuracy_pct:
        share = 100 * a.accuracy_pct / b.accuracy_pct
        given = list(dict.fromkeys(r.model for r in (a, b) if r.user))
        both = a.user and b.user
        how = ("small-input variants" if not given else
               f"{' and '.join(given)} as given" + ("" if both else ", the other a small-input variant"))
        return (f" at {share:.0f}% of its accuracy ({a.accuracy_pct}% vs {b.accuracy_pct}% top-1 on "
                f"{doc['plan']['data']}, {how})")
    pub = doc["published_imagenet_top1"]
    pa, pb = pub.get(fast.model, {}).get("top1_pct"), pub.get(slow.model, {}).get("top1_pct")
    if doc["plan"].get("data"):
        missing = list(dict.fromkeys(t.get(r.model, r.model) for r, s in ((fast, a), (slow, b))
                                     if s is None or s.accuracy_pct is None))
        text = f"; accuracy not measured for {' and '.join(missing)} (see the accuracy column)"
    else:
        text = "; accuracy not measured (run with --data)"
    if pa and pb and fast.model != slow.model:
        text += f"; published ImageNet top-1 is {pa}% for {t[fast.model]} (float) vs {pb}% for {t[slow.model]}"
    return text


def _pct(part: int, total: int) -> str:
    p = 100 * part / total
    return f"{p:.0f}%" if p >= 1 else f"{p:.1f}%"


def _ratio(r: float, less: str, more: str, estimated: bool = False) -> str:
    """2.0 -> "2 times fewer"; 0.5 -> "2 times more" (three significant digits, two for estimates)."""
    from targets.estimate import two_digits

    value, word = (r, less) if r >= 1 else (1 / r, more)
    return f"{two_digits(value) if estimated else f'{value:.3g}'} times {word}"


def _latency(row: StudyRow) -> str:
    """A measured p50 as is; an estimated one at two significant digits with its expected error."""
    from targets.estimate import two_digits

    p50 = row.result.p50_ms
    if row.result.measured:
        return f"{p50} ms"
    pct = row.result.expected_error_pct
    return f"{two_digits(p50)} ms" + (f" ±{pct}%" if pct is not None else "") + " est."


def _lat(r: StudyRow) -> str:
    """p50 with its 95% interval (and NOISY) when measured in rounds, "est." when estimated."""
    if not r.result.measured:
        return _latency(r)
    lat = r.result.figures.latency_ms
    ci = lat.ci95
    text = f"{lat.p50} ms" + (f" [95% {ci[0]}–{ci[1]}]" if ci else "")
    from bench.compare import noisy_mark

    mark = noisy_mark(r.result)
    return text + (f" {mark}" if mark else "")


def quant_versus(rows: list[StudyRow], target: str, t: dict, fast: str = "int8", slow: str = "fp32") -> str | None:
    """int8 against fp32 for each measured model on ``target``, the speed ratio with its 95% interval."""
    from bench.compare import result_ratio, speed_words

    parts, why = [], []
    for model in dict.fromkeys(r.model for r in rows if r.target == target):
        a, b = _pick(rows, target, model, fast), _pick(rows, target, model, slow)
        if a is None or b is None or not _both_measured(a, b):
            continue
        found = result_ratio(a.result, b.result)
        if found is None:
            continue
        parts.append(f"{t.get(model, model)}: {speed_words(fast, slow, found[:3])}")
        why += _why_slower(b, a) if (fast, slow) == ("int8", "fp32") else []
    if not parts:
        return None
    return (f"On {target}, measured {fast} against {slow}, speed ratio with its 95% interval: " + "; ".join(parts)
            + "." + "".join(f" {line.strip()}" for line in why))


def _why_slower(fp32: StudyRow, int8: StudyRow) -> list[str]:
    """Why int8 was measured slower than fp32 (``bench.int8_why``), or []."""
    from bench.int8_why import explain

    return explain(fp32.result, int8.result)


def energy_versus(rows: list[StudyRow], target: str, t: dict) -> str | None:
    """The conclusion's pair on ``target`` (MobileNet v2 int8 and VGG-16 fp32 when studied, ``_pair``): the
    first's energy per inference over the second's, with an interval from the two figures' own (the 95%
    intervals when measured, the expected-error bands when estimated; conservative: the extremes of both), or
    why there is none."""
    from edgekit.energy import energy_text

    pair = _pair(rows, target)
    if pair is None:
        return None
    fast, slow = pair
    a, b = fast.result.energy, slow.result.energy
    names = f"{t[fast.model]} {fast.quant} to {t[slow.model]} {slow.quant} on {target}"
    if a is None or b is None or a.mj is None or b.mj is None or not b.mj:
        why = next((f.note for f in (a, b) if f is not None and f.note), "no energy figure")
        return f"Energy per inference of {names}: not available ({why})."
    how = "measured" if a.measured and b.measured else "estimated" if not (a.measured or b.measured) else \
        "measured and estimated"
    ratio = a.mj / b.mj
    text = f"Energy per inference above idle, {names} ({how}: {energy_text(a)} vs {energy_text(b)} mJ): " \
           f"ratio {ratio:.3g}"
    same_power = not a.measured and not b.measured and (a.source, a.power_w) == (b.source, b.power_w)
    found = same_power and _latency_ratio_interval(fast, slow)
    if found:  # one power figure priced both: its error cancels, the ratio is the latencies' ratio
        text += f" (interval {ratio * found[0]:.3g}–{ratio * found[1]:.3g}, the latency ratio's: both are priced " \
                f"at the same power)"
    elif None not in (a.low_mj, a.high_mj, b.low_mj, b.high_mj) and b.low_mj > 0:
        text += f" (interval {a.low_mj / b.high_mj:.3g}–{a.high_mj / b.low_mj:.3g}, from the two figures' own)"
    text += f", {_ratio(1 / ratio, 'less', 'more', how != 'measured')} energy"
    if a.covers != b.covers:  # e.g. the Edge TPU alone against its host board running the fp32 model
        text += f"; not like for like: the first covers {a.covers}, the second {b.covers}"
    return text + "."


def _latency_ratio_interval(fast: StudyRow, slow: StudyRow) -> tuple[float, float] | None:
    """The interval of fast/slow latency as factors of the ratio: paired by round when both were measured in
    rounds (``bench.protocol``), else from the two estimates' expected errors (independent extremes)."""
    from bench.compare import result_ratio

    if _both_measured(fast, slow):
        found = result_ratio(fast.result, slow.result)  # slow over fast
        if not found:
            return None
        r, lo, hi, _ = found
        return r / hi, r / lo
    ea, eb = (fast.result.expected_error_pct or 0) / 100, (slow.result.expected_error_pct or 0) / 100
    return ((1 - ea) / (1 + eb), (1 + ea) / (1 - eb)) if eb < 1 else None


def _both_measured(a: StudyRow, b: StudyRow) -> bool:
    return a.result.measured and b.result.measured


def conclusion(doc: dict) -> list[str]:
    """A few sentences, every number taken from the document."""
    from bench.compare import result_ratio

    t = titles()
    out = []
    rows = [r for r in doc["rows"] if not r.result.failed]  # a failed row has no figures to compare
    for target in doc["plan"]["targets"]:
        pair = _pair(rows, target)
        if pair is None:
            continue
        fast, slow = pair
        speed, interval = slow.result.p50_ms / fast.result.p50_ms, ""
        found = _both_measured(fast, slow) and result_ratio(fast.result, slow.result)
        if found:
            speed, lo, hi, _ = found
            interval = f" (95% interval {lo:.3g}–{hi:.3g} times)" if speed >= 1 else \
                f" (95% interval {1 / hi:.3g}–{1 / lo:.3g} times)"
        f, s = fast.result.figures, slow.result.figures
        what = [f"a {_ratio(s.size_bytes / f.size_bytes, 'smaller', 'larger')} file"]
        if fast.model != slow.model:
            what.insert(0, f"{_ratio(s.macs / f.macs, 'fewer', 'more')} MACs")
        est = not _both_measured(fast, slow)
        out.append(f"{t[fast.model]} {fast.quant} is {_ratio(speed, 'faster', 'slower', est)}{interval} than "
                   f"{t[slow.model]} {slow.quant} on {target} ({_how(fast, slow)}: "
                   f"{_lat(fast)} vs {_lat(slow)}), with {' and '.join(what)}"
                   + _accuracy_clause(doc, target, fast, slow, t) + ".")
        energy = energy_versus(rows, target, t)
        if energy:
            out.append(energy)
        versus = quant_versus(rows, target, t)
        if versus:
            out.append(versus)
    out += user_versus(doc, rows, t)
    sep, neck = doc["arithmetic"]["separable"], doc["arithmetic"]["bottleneck"]
    out.append("The seed's arithmetic (the course notes' worked examples, not this study's models) holds: a "
               f"depthwise-separable 3x3 convolution costs {sep['depthwise']} + "
               f"{sep['pointwise']} = {sep['separable']} MACs instead of {sep['standard']} ({sep['ratio']} times "
               f"fewer), and a 1x1 bottleneck cuts the 5x5 Inception branch from {neck['direct']:,} to "
               f"{neck['bottlenecked']:,} MACs ({neck['ratio']} times fewer).")
    for model, layers in doc["layers"].items():
        total = layers["total_macs"]
        shares = ", ".join(f"{_pct(v, total)} {k}" for k, v in layers["totals"].items() if v)
        millions = total / 1e6
        out.append(f"{t[model]} spends its {millions:,.0f} M MACs as {shares}." if millions >= 100 else
                   f"{t[model]} spends its {millions:.3g} M MACs as {shares}.")
    return out


def user_versus(doc: dict, rows: list[StudyRow], t: dict) -> list[str]:
    """Each user model against the study's first zoo model, per target, in the same quant when there is one
    (else fp32, else any): latency with its interval when both were measured in rounds, else "est."."""
    from bench.compare import result_ratio, speed_words

    user = {m["name"]: m for m in doc["plan"].get("user_models", [])}
    zoo = [m for m in doc["plan"]["models"] if m not in user]
    out = []
    for name, m in user.items():
        source = f"{m['source']}, " + ("converted here" if m["converted_here"] else "measured as it is")
        for target in doc["plan"]["targets"]:
            mine = [r for r in rows if r.model == name and r.target == target and r.result.p50_ms]
            for row in mine:
                ref = next((r for q in (row.quant, "fp32", None) for z in zoo for r in rows
                            if r.model == z and r.target == target and r.result.p50_ms
                            and (q is None or r.quant == q)), None)
                if ref is None:
                    out.append(f"{name} {row.quant} ({source}) on {target}: {_lat(row)}, {row.mmacs} M MACs.")
                    continue
                found = _both_measured(row, ref) and result_ratio(row.result, ref.result)
                if found:
                    words = speed_words(f"{name} {row.quant}", f"{t[ref.model]} {ref.quant}", found[:3])
                else:
                    speed = ref.result.p50_ms / row.result.p50_ms
                    words = (f"{name} {row.quant} is {_ratio(speed, 'faster', 'slower', True)} than "
                             f"{t[ref.model]} {ref.quant}")
                out.append(f"On {target}, {words} ({source}; {_how(row, ref)}: {_lat(row)} vs {_lat(ref)}; "
                           f"{row.mmacs} vs {ref.mmacs} M MACs).")
    return out
