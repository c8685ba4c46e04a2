"""The study written out: results.json, results.csv, report.md (with PNGs beside it) and a self-contained
report.html (the same PNGs embedded as base64). Every number in the reports is a value of results.json:
measured ones printed as is, estimated latencies and GMAC/s at two significant digits with their
``expected_error_pct`` ("19 ±14% est."); every estimated cell carries "est.".
"""

from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from bench.protocol import FEW_ROUNDS_NOTE, REL_HALFWIDTH, noisy_mark, too_few_rounds
from edgekit.energy import KEYS as ENERGY_KEYS
from edgekit.errors import EdgekitError, UsageError
from edgekit.result import Kind, Result, is_failed, is_measured

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
_CSV_KEYS = ("model", "variant", "quant", "target", "measured", "estimate_method", "host", "threads", "input_shape",
             "params", "macs", "size_bytes", "init_ms", "first_ms", "peak_rss_mb", "estimated_memory_mb",
             "expected_error_pct", "runs_on", "gmacs_per_s", "throughput_ips", "cv", "rounds", "noisy", "runs",
             "batch", "backend", "backend_version", "accuracy_pct", "accuracy_note", "id", "run_id", "time_utc",
             "commit", "path", *ENERGY_KEYS, "where")
_LAT = ("min", "mean", "std", "p50", "p90", "p99")
NOISY = "NOISY"


def _few_rounds_note(rows: list[dict]) -> str:
    """The footnote's sentence for rows with too few rounds for an interval, when there are any."""
    return f" {FEW_ROUNDS_NOTE}." if any(too_few_rounds(r) for r in rows) else ""


def _num(value) -> str:
    return "-" if value is None else str(value)


def _lat(value, row: dict) -> str:
    """A measured number as is; an estimated one at two significant digits with "±N% est."."""
    from targets.estimate import estimate_cell

    return _num(value) if is_measured(row) else estimate_cell(value, row)


def cells(row: dict, notes: dict) -> list[str]:
    """One table row; ``notes`` maps a model to its footnote number for the published column."""
    from targets.estimate import HOST_CPU, cell

    measured = is_measured(row)
    memory = row["peak_rss_mb"] if measured else row.get("estimated_memory_mb")
    where = row.get("where") or row.get("host")  # on a cluster (edgekit study --cluster): its node and device
    how = "estimated" if not measured else f"measured on {where}" if where else "measured"
    if row.get("runs_on") == "host-cpu":
        how = f"estimated {HOST_CPU}"
    how += " (emulated: not a device's speed)" if row.get("emulated") else ""
    acc = "not measured" if row.get("accuracy_pct") is None else _num(row["accuracy_pct"])
    pub = notes.get(row["model"])
    if Result.kind_of(row) is Kind.FAILED:  # its error is under the table (failed_lines)
        return [row["model"], "x".join(map(str, row["input_shape"])), row["quant"], row["target"], "failed",
                _num(row["params_m"]), _num(row["mmacs"]), _num(row["size_mb"]), "failed", "-", "-", "-", "-",
                acc, f"{pub[0]} [{pub[1]}]" if pub else "-"]
    if Result.kind_of(row) is Kind.FIT:  # a microcontroller target: the estimate only for models that fit, else why not
        fits_with_estimate = row["fits"] and row["latency_ms"]["p50"] is not None  # float has no estimate
        p50 = cell(_num(row["latency_ms"]["p50"]), row) if fits_with_estimate else row["verdict"]
        arena = "-" if row.get("arena_mb") is None else f"{row['arena_mb']} arena"
        return [row["model"], "x".join(map(str, row["input_shape"])), row["quant"], row["target"],
                "TFLite Micro here, latency estimated", _num(row["params_m"]), _num(row["mmacs"]),
                _num(row["size_mb"]), p50, "-", "-", arena,
                cell(_num(row["gmacs_per_s"]), row) if row["fits"] else "-",
                _energy(row) if fits_with_estimate else "-",
                acc, f"{pub[0]} [{pub[1]}]" if pub else "-"]
    mark = noisy_mark(row)
    p50 = _lat(row["latency_ms"]["p50"], row) + (f" {mark}" if mark else "")
    ci = row["latency_ms"].get("ci95")
    return [row["model"], "x".join(map(str, row["input_shape"])), row["quant"], row["target"], how,
            _num(row["params_m"]), _num(row["mmacs"]), _num(row["size_mb"]),
            p50, f"{ci[0]}–{ci[1]}" if ci else "-", _lat(row["latency_ms"]["p90"], row),
            cell(_num(memory), row), _lat(row["gmacs_per_s"], row), _energy(row), acc,
            f"{pub[0]} [{pub[1]}]" if pub else "-"]


def _energy(row: dict) -> str:
    from edgekit.energy import EnergyFigure, energy_text

    return energy_text(EnergyFigure.from_dict(row))


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


def _threads_text(rows: list[dict]) -> str:
    """" (threads: cpu 1, rpi4 4)": each CPU target's thread count, as its rows were run or estimated."""
    seen: dict[str, int] = {}
    for r in rows:
        if r.get("threads") and r.get("target") not in seen:
            seen[r["target"]] = r["threads"]
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


def phone_lines(rows: list[dict]) -> list[str]:
    from edgekit.study.phones import phone_lines as lines

    return lines(rows)


def failed_lines(rows: list[dict]) -> list[str]:
    """Under the table: each configuration that could not be measured or estimated, with its error."""
    failed = [r for r in rows if is_failed(r)]
    return ["", *(f"- failed: {r['model']} {r['quant']} on {r['target']}: {r['error']}" for r in failed)] \
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


def html_page(doc: dict, plots: dict[str, bytes]) -> str:
    """The same content as report.md, self-contained: PNGs inline, no external CSS or script."""
    notes, texts = footnotes(doc)
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in COLUMNS)
    body = []
    for r in doc["rows"]:
        tds = "".join(f'<td class="est">{e(c)}</td>' if c.endswith(" est.") else f"<td>{e(c)}</td>"
                      for c in cells(r, notes))
        body.append(f'<tr class="noisy" title="{e(NOISY_NOTE)}">{tds}</tr>' if r.get("noisy") else f"<tr>{tds}</tr>")
    figs = "".join(f'<figure><img alt="{e(PLOTS[n])}" src="data:image/png;base64,'
                   f'{base64.b64encode(png).decode()}"><figcaption>{e(PLOTS[n])}</figcaption></figure>'
                   for n, png in plots.items())
    md = markdown(doc, [])
    tail = md[md.index("## The seed's arithmetic"):]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>edgekit study</title><style>{_CSS}</style>"
            f"</head><body><h1>edgekit study</h1><p>{e(md.splitlines()[2])}</p>"
            + (f"<p>{e(sources_line(doc['plan'], doc.get('user_accuracy')))}</p>" if doc["plan"].get("user_models")
               else "") +
            "<h2>Conclusion</h2><ul>" + "".join(f"<li>{e(c)}</li>" for c in doc["conclusion"]) + "</ul>"
            f"<h2>Results</h2><table><tr>{head}</tr>{''.join(body)}</table>"
            + "".join(f"<p>{e(line[2:])}</p>" for line in failed_lines(doc["rows"]) + phone_lines(doc["rows"])
                      if line)
            + f"<p>{e(NOISY_NOTE + _few_rounds_note(doc['rows']))}</p><p>{e(EST_NOTE)}</p><ol>"
            + "".join(f"<li>{e(t)}</li>" for t in texts) + f"</ol><h2>Plots</h2>{figs}"
            f"{_md_tables_to_html(tail)}</body></html>\n")


_CSS = ("body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}td:nth-child(-n+5){text-align:"
        "left}td.est{font-style:italic;color:#555;background:#f6f6f6}tr.noisy td{background:#fff3cd;color:#7a4b00;"
        "font-weight:bold}img{max-width:100%}figure{margin:1em 0}")


def _md_tables_to_html(text: str) -> str:
    """The tail of report.md (headings and pipe tables only) as HTML."""
    out, in_table = [], False
    for line in text.splitlines():
        if line.startswith("|"):
            if set(line) <= set("|-"):
                continue
            tag = "th" if not in_table else "td"
            out.append(("<table>" if not in_table else "") + "<tr>" + "".join(
                f"<{tag}>{html.escape(c.strip())}</{tag}>" for c in line.strip("|").split("|")) + "</tr>")
            in_table = True
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    return "".join(out) + ("</table>" if in_table else "")


def csv_text(rows: list[dict], published: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*_CSV_KEYS, *(f"{k}_ms" for k in _LAT), "ci95_lo_ms", "ci95_hi_ms", "published_imagenet_top1_pct"])
    for r in rows:
        values = [r.get(k) for k in _CSV_KEYS]
        values[_CSV_KEYS.index("input_shape")] = "x".join(map(str, r["input_shape"]))
        latency = r.get("latency_ms") or {}  # a failed row has none
        ci = latency.get("ci95") or [None, None]
        w.writerow(values + [latency.get(k) for k in _LAT] + ci + [published[r["model"]]["top1_pct"]])
    return buf.getvalue()


def make_plots(doc: dict) -> dict[str, bytes]:
    """The PNGs that apply: accuracy vs latency only when accuracy was measured. Emulated rows are left out."""
    from edgekit.study import plots
    from edgekit.study.summary import titles

    t = titles()
    rows = [r for r in doc["rows"] if not r.get("emulated") and not is_failed(r)]  # an emulator's timings are
    # no device's speed; a failed row has none
    zoo = [r for r in rows if r["variant"] == "zoo"]
    out = {}
    if zoo:  # every row failed, or ran on an emulator: nothing to plot, and the report is written all the same
        out = {"latency_vs_macs.png": plots.latency_vs_macs(zoo, t), "size_by_quant.png": plots.size_by_quant(zoo, t)}
    if any(r.get("energy_mj") for r in zoo):
        out["energy_vs_macs.png"] = plots.energy_vs_macs(zoo, t)
    trained = [r for r in rows if r.get("accuracy_pct") is not None]
    if trained:
        target = "cpu" if any(r["target"] == "cpu" for r in trained) else trained[0]["target"]
        out["accuracy_vs_latency.png"] = plots.accuracy_vs_latency(trained, t, target)
    if doc["layers"]:
        out["layer_macs.png"] = plots.layer_macs(list(doc["layers"].values()), t)
    return out


MARKER = ".edgekit-study"  # in --out: what edgekit study wrote there, so that a later study may replace it
MARKER_FORMAT = "edgekit-study/1"
_FIXED = ("results.json", "results.csv", "report.md", "report.html")
STUDY_FILES = frozenset((*_FIXED, *PLOTS, MARKER))


def _ours(name: str) -> bool:
    """A name the study writes, or the hidden temporary of one (``.report.html.XXXX.tmp``, left by a kill)."""
    return name in STUDY_FILES or (name.startswith(".") and name.endswith(".tmp")
                                   and any(name.startswith(f".{known}.") for known in STUDY_FILES))


def _marked(out: Path) -> bool:
    try:
        return (out / MARKER).is_file() and json.loads((out / MARKER).read_text()).get("format") == MARKER_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def check_out(out: Path, force: bool) -> None:
    """Refuse an --out the study must not write into: a special file or a file (with ``force`` too), an existing
    folder without ``force``, and with ``force`` too a folder holding anything but an earlier study's files: the
    names the study writes, all regular files, with its marker (:data:`MARKER`) beside them. An empty folder, or
    one holding only the study's hidden temporaries, is used as it is. Raises UsageError naming what is in the way.
    """
    from edgekit.atomic import refuse_special

    refuse_special(out, "--out")
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder")
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError as err:
        raise UsageError(f"cannot read --out {str(out)!r}: {err.strerror}; choose another folder") from None
    foreign = next((e.name for e in entries if not (_ours(e.name) and e.is_file(follow_symlinks=False))), None)
    if foreign is not None:
        raise UsageError(f"--out {str(out)!r} holds {foreign!r}, which edgekit study did not write; the study writes "
                         "only into a new or empty folder or over an earlier study, even with --force: choose another "
                         "folder")
    visible = [e.name for e in entries if e.name in STUDY_FILES]
    if visible and not _marked(out):
        raise UsageError(f"--out {str(out)!r} holds {visible[0]!r} but no {MARKER} marker, so edgekit study cannot "
                         "tell that it wrote it (an older edgekit did, or someone else) and replaces nothing there: "
                         "choose another folder, or delete that one first")
    if not force:
        raise UsageError(f"--out {str(out)!r} already exists; pass --force to replace it or choose another folder")


def write(out: Path, doc: dict, force: bool) -> None:
    """Write the study into the folder ``out``, replacing an earlier study there only (:func:`check_out`, checked
    again here since the plan).

    Every file goes to a hidden temporary inside ``out`` first; then the marker and the files are renamed into
    place and the earlier study's files this one does not write are removed. ``out`` itself is never renamed or
    swapped, so ``--out .`` leaves the shell's working folder alone. Any failure, a full disk or Ctrl-C included,
    removes the temporaries (and ``out``, had this call made it) with the earlier study still whole, and is one
    line. Only a kill between the renames, a matter of microseconds, can leave the two studies mixed: still marked,
    so that the next run replaces it.
    """
    from edgekit import __version__
    from edgekit.atomic import write_temp

    out = out.expanduser().absolute()
    check_out(out, force)
    plots = make_plots(doc)
    files = {"results.json": json.dumps(doc, indent=2, default=str) + "\n",
             "results.csv": csv_text(doc["rows"], doc["published_imagenet_top1"]),
             "report.md": markdown(doc, list(plots)), "report.html": html_page(doc, plots), **plots}
    marker = {"format": MARKER_FORMAT, "edgekit": __version__, "time_utc": datetime.now(UTC).isoformat(),
              "files": sorted(files)}
    files = {MARKER: json.dumps(marker, indent=2) + "\n", **files}  # the marker first: a kill leaves it marked
    made = _missing_top(out)
    temps: dict[str, str] = {}
    renamed = False
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            temps[name] = write_temp(out / name, content if isinstance(content, bytes) else content.encode())
        mine = {os.path.basename(t) for t in temps.values()}
        stale = [e.name for e in os.scandir(out) if _ours(e.name) and e.name not in files and e.name not in mine]
        for name in files:
            renamed = True
            os.replace(temps[name], out / name)
            del temps[name]
        for name in stale:  # an earlier study's plot this one does not draw, or a killed run's temporary
            with contextlib.suppress(OSError):
                os.unlink(out / name)
    except BaseException as err:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        if isinstance(err, OSError):
            kept = "" if renamed or made is not None else "; what was there is unchanged"
            raise EdgekitError(f"cannot write --out {str(out)!r}: {err.strerror or err}{kept}") from None
        raise


def _missing_top(out: Path) -> Path | None:
    """The outermost folder of ``out`` that does not exist yet (what to remove if writing fails), or None."""
    if os.path.lexists(out):
        return None
    top = out
    while not os.path.lexists(top.parent) and top.parent != top:
        top = top.parent
    return top
