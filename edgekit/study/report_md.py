"""The study's report.md: its header, conclusion, results table (one row per cell, every estimated cell marked
"est."), footnotes, the seed's arithmetic and the MACs by layer kind, all from the study's document (results.json's,
its rows :class:`edgekit.study.study_row.StudyRow` records). Measured
numbers are printed as they are; estimated latencies and GMAC/s at two significant digits with their
``expected_error_pct`` ("19 ±14% est.").
"""

from __future__ import annotations

from bench.compare import FEW_ROUNDS_NOTE, noisy_mark, too_few_rounds
from bench.protocol import REL_HALFWIDTH
from edgekit.result import Kind, Result
from edgekit.study.study_row import StudyRow

COLUMNS = ("model", "input", "quant", "target", "how", "params (M)", "MACs (M)", "size (MB)", "p50 (ms)",
           "95% interval (ms)", "p90 (ms)", "peak memory (MB)", "GMAC/s", "energy (mJ)", "accuracy (%)",
           "ImageNet top-1 (%), published")
PLOTS = {"latency_vs_macs.png": "Latency vs MACs (log-log): filled markers measured (bars: 95% interval), hollow "
                                  "markers estimated (bars: their cross-validated error)",
         "size_by_quant.png": "Model size by quantization mode",
         "accuracy_vs_latency.png": "Accuracy vs latency of the trained small-input variants and your models (--data), "
                               "with the Pareto front",
         "energy_vs_macs.png": "Energy per inference above idle vs MACs (log-log): filled markers measured (bars: "
                               "95% interval), hollow markers estimated (bars: their held-out error, docs/energy.md)",
         "layer_macs.png": "Per-layer MACs by layer kind, for the models of this study"}
EST_NOTE = ("est. = estimated by edgekit's cost model (docs/estimates.md), not measured; ±N% = the model's "
            "cross-validated error on published figures for that target family and model kind; estimated memory "
            "is the weights as stored plus peak live activations, not a process RSS. Energy is per inference "
            "above idle: measured by a sensor with its 95% interval (RAPL: the whole CPU socket), or estimated "
            "as latency x published power with its held-out error (docs/energy.md).")
NOISY_NOTE = ("p50 is the median of the rounds' medians, each round a fresh process, rounds interleaved across "
              "configurations; the interval is its 95% confidence interval (order statistics, docs/measuring.md). "
              f"NOISY = the interval stayed wider than ±{REL_HALFWIDTH:.0%} of p50 after re-measuring within the time "
              "budget: treat that number, and any difference it shows, with caution.")
NOISY = "NOISY"


def _few_rounds_note(rows: list[StudyRow]) -> str:
    """The footnote's sentence for rows with too few rounds for an interval, when there are any."""
    return f" {FEW_ROUNDS_NOTE}." if any(too_few_rounds(r.result) for r in rows) else ""


def _num(value) -> str:
    return "-" if value is None else str(value)


def _lat(value, result: Result) -> str:
    """A measured number as is; an estimated one at two significant digits with "±N% est."."""
    from targets.estimate import estimate_cell

    return _num(value) if result.measured else estimate_cell(value, result)


def cells(row: StudyRow, notes: dict) -> list[str]:
    """One table row; ``notes`` maps a model to its footnote number for the published column."""
    from edgekit.energy import energy_text
    from targets.estimate import HOST_CPU, cell

    record = row.result
    measured, extra, figures = record.measured, record.extra, record.figures
    memory = figures.peak_rss_mb if measured else row.estimated_memory_mb
    where = extra.get("where") or extra.get("host")  # on a cluster (edgekit study --cluster): its node and device
    how = "estimated" if not measured else f"measured on {where}" if where else "measured"
    if record.estimate_info is not None and record.estimate_info.runs_on == "host-cpu":
        how = f"estimated {HOST_CPU}"
    how += " (emulated: not a device's speed)" if extra.get("emulated") else ""
    acc = "not measured" if row.accuracy_pct is None else _num(row.accuracy_pct)
    pub = notes.get(row.model)
    head = [row.model, "x".join(map(str, row.input_shape)), row.quant, row.target]
    sizes = [_num(row.params_m), _num(row.mmacs), _num(row.size_mb)]
    published = f"{pub[0]} [{pub[1]}]" if pub else "-"
    if record.kind is Kind.FAILED:  # its error is under the table (failed_lines)
        return [*head, "failed", *sizes, "failed", "-", "-", "-", "-", acc, published]
    if record.kind is Kind.FIT:  # a microcontroller target: the estimate only for models that fit, else why not
        fits_with_estimate = record.fit.fits and record.p50_ms is not None  # float has no estimate
        p50 = cell(_num(record.p50_ms), record) if fits_with_estimate else record.fit.verdict
        arena = "-" if row.arena_mb is None else f"{row.arena_mb} arena"
        return [*head, "TFLite Micro here, latency estimated", *sizes, p50, "-", "-", arena,
                cell(_num(figures.gmacs_per_s), record) if record.fit.fits else "-",
                energy_text(record.energy) if fits_with_estimate else "-", acc, published]
    mark = noisy_mark(record)
    p50 = _lat(record.p50_ms, record) + (f" {mark}" if mark else "")
    ci = figures.latency_ms.ci95
    return [*head, how, *sizes, p50, f"{ci[0]}–{ci[1]}" if ci else "-", _lat(figures.latency_ms.p90, record),
            cell(_num(memory), record), _lat(figures.gmacs_per_s, record), energy_text(record.energy), acc,
            published]


def skipped_cells(doc: dict) -> list[list[str]]:
    """One row per model the memory guard left out, saying why (issue 22)."""
    plan = doc["plan"]
    return [[s["model"], "-", ", ".join(plan["quants"]), ", ".join(plan["targets"]),
             f"skipped, not converted: {s['reason']}", *["-"] * (len(COLUMNS) - 5)]
            for s in plan.get("skipped", ())]


def footnotes(doc: dict) -> tuple[dict, list[str]]:
    """Published top-1 per model as (value, footnote number), and the footnote texts."""
    notes, texts = {}, []
    for model, pub in doc["published_imagenet_top1"].items():
        if pub["top1_pct"] is None:
            continue
        if pub["source"] not in texts:
            texts.append(pub["source"])
        notes[model] = (pub["top1_pct"], texts.index(pub["source"]) + 1)
    return notes, texts


def _threads_text(rows: list[StudyRow]) -> str:
    """" (threads: cpu 1, rpi4 4)": each CPU target's thread count, as its rows were run or estimated."""
    seen: dict[str, int] = {}
    for r in rows:
        if r.result.threads and r.target not in seen:
            seen[r.target] = r.result.threads
    return f" (threads: {', '.join(f'{t} {n}' for t, n in seen.items())})" if seen else ""


def markdown(doc: dict, plots: list[str]) -> str:
    notes, texts = footnotes(doc)
    plan = doc["plan"]
    out = ["# edgekit study", "",
           f"edgekit {doc['edgekit']} (commit {doc['commit']}), {doc['time_utc']}, on {doc['host']['cpu']} "
           f"({doc['host']['usable_cores']} cores). Models {', '.join(plan['models'])}; quantization "
           f"{', '.join(plan['quants'])}; targets {', '.join(plan['targets'])}{_threads_text(doc['rows'])}"
           + (" (--quick: fewer rounds, timed runs and calibration samples)" if plan["quick"] else "") + ".", "",
           *([sources_line(plan, doc.get("user_accuracy")), ""] if plan.get("user_models") else []),
           "## Conclusion", ""]
    out += [f"- {line}" for line in doc["conclusion"]]
    out += ["", "## Results", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(cells(r, notes)) + " |" for r in doc["rows"]]
    out += ["| " + " | ".join(row) + " |" for row in skipped_cells(doc)]
    out += failed_lines(doc["rows"]) + phone_lines(doc["rows"])
    out += ["", NOISY_NOTE + _few_rounds_note(doc["rows"]), "", EST_NOTE,
            "Accuracy is measured only with --data: on models trained here, and on your own models as given when "
            "their outputs match the data's labels; the published ImageNet column is the "
            "architecture's figure from its source, never measured here:", ""]
    out += [f"[{i}] {text}" + ("  " if i < len(texts) else "") for i, text in enumerate(texts, 1)]
    if plots:
        out += ["", "## Plots", ""]
        out += [f"![{PLOTS[p]}]({p})" for p in plots]
    out += ["", "## The seed's arithmetic, computed by edgekit.analysis", "", *_arithmetic(doc["arithmetic"])]
    out += ["", "## MACs by layer kind", "", "| model | " + " | ".join(_kinds(doc)) + " | total |",
            "|---|" + "---|" * (len(_kinds(doc)) + 1)]
    for model, lay in doc["layers"].items():
        out.append(f"| {model} | " + " | ".join(f"{v:,}" for v in lay["totals"].values())
                   + f" | {lay['total_macs']:,} |")
    out += _training(doc)
    return "\n".join(out) + "\n"


def sources_line(plan: dict, accuracy: dict | None = None) -> str:
    """Where the user's models came from, which were converted here, and (with --data) how their accuracy was
    measured: ``accuracy`` is the study's ``user_accuracy`` (model -> mismatch, float accuracy)."""
    parts = []
    for m in plan.get("user_models", []):
        if m["converted_here"]:
            extra = "".join(f", {k} {m[k]}" for k in ("preprocess", "calibration") if m.get(k))
            part = f"{m['name']} ({m['source']}, {m['kind']} model, converted here per --quant{extra}"
        else:
            part = (f"{m['name']} ({m['source']}: measured as it is, {m['quant']} as read from the file, "
                    "not converted here")
        parts.append(part + _user_accuracy_text((accuracy or {}).get(m["name"])) + ")")
    return "Your models, named by file stem: " + "; ".join(parts) + "."


def _user_accuracy_text(acc: dict | None) -> str:
    if not acc:
        return ""
    if acc.get("mismatch"):
        return f"; accuracy not measured: {acc['mismatch']}"
    text = f"; accuracy on {acc['data']} evaluated as given, not trained here"
    if "float_accuracy_pct" in acc:
        pct = acc["float_accuracy_pct"]
        text += f", the Keras model in float {'not measured' if pct is None else f'{_num(pct)}%'}"
    return text


def phone_lines(rows: list[StudyRow]) -> list[str]:
    from edgekit.study.phones import phone_lines as lines

    return lines(rows)


def failed_lines(rows: list[StudyRow]) -> list[str]:
    """Under the table: each configuration that could not be measured or estimated, with its error."""
    failed = [r for r in rows if r.result.failed]
    return ["", *(f"- failed: {r.model} {r.quant} on {r.target}: {r.result.failure.error}" for r in failed)] \
        if failed else []


def _kinds(doc: dict) -> list[str]:
    first = next(iter(doc["layers"].values()), {"totals": {}})
    return list(first["totals"])


def _arithmetic(a: dict) -> list[str]:
    s, b = a["separable"], a["bottleneck"]
    return ["| computation | MACs |", "|---|---|",
            f"| standard 3x3 conv, 6x6x3 -> 4x4x5 | {s['standard']:,} |",
            f"| depthwise 3x3 + pointwise 1x1, same shapes | {s['depthwise']:,} + {s['pointwise']:,} = "
            f"{s['separable']:,} |",
            f"| 5x5 conv, 28x28x192 -> 28x28x32 | {b['direct']:,} |",
            f"| 1x1 to 16 channels, then 5x5 to 32 | {b['squeeze_1x1']:,} + {b['conv_5x5']:,} = "
            f"{b['bottlenecked']:,} |"]


def _training(doc: dict) -> list[str]:
    if not doc["training"]:
        return []
    out = ["", "## Trained small-input variants (--data)", "",
           "| model | input | epochs | train / val images | Keras val accuracy (%) |", "|---|---|---|---|---|"]
    for m, t in doc["training"].items():
        out.append(f"| {m} | {'x'.join(map(str, t['input_shape']))} | {t['epochs']} | {t['train_samples']} / "
                   f"{t['val_samples']} | {_num(t['keras_val_accuracy_pct'])} |")
    return out
