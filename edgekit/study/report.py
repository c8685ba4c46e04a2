"""The study written out: results.json and results.csv (the rows' documents, ``StudyRow.to_dict``), report.md
(``edgekit.study.report_md``, with PNGs beside it) and a self-contained report.html (``edgekit.study.report_html``,
the same PNGs embedded as base64). Every number in the reports is a value of results.json: measured ones printed
as is, estimated latencies and GMAC/s at two significant digits with their ``expected_error_pct`` ("19 ±14% est.");
every estimated cell carries "est.".
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from edgekit.energy import KEYS as ENERGY_KEYS
from edgekit.errors import EdgekitError, UsageError
from edgekit.study.report_html import html_page
from edgekit.study.report_md import PLOTS, markdown
from edgekit.study.study_row import StudyRow

_CSV_KEYS = ("model", "variant", "quant", "target", "measured", "estimate_method", "host", "threads", "input_shape",
             "params", "macs", "size_bytes", "init_ms", "first_ms", "peak_rss_mb", "estimated_memory_mb",
             "expected_error_pct", "runs_on", "gmacs_per_s", "throughput_ips", "cv", "rounds", "noisy", "runs",
             "batch", "backend", "backend_version", "accuracy_pct", "accuracy_note", "id", "run_id", "time_utc",
             "commit", "path", *ENERGY_KEYS, "where")
_LAT = ("min", "mean", "std", "p50", "p90", "p99")


def csv_text(rows: list[StudyRow], published: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*_CSV_KEYS, *(f"{k}_ms" for k in _LAT), "ci95_lo_ms", "ci95_hi_ms", "published_imagenet_top1_pct"])
    for r in (row.to_dict() for row in rows):
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
    rows = [r for r in doc["rows"] if not r.result.extra.get("emulated") and not r.result.failed]  # an
    # emulator's timings are no device's speed; a failed row has none
    zoo = [r for r in rows if r.variant == "zoo"]
    out = {}
    if zoo:  # every row failed, or ran on an emulator: nothing to plot, and the report is written all the same
        out = {"latency_vs_macs.png": plots.latency_vs_macs(zoo, t), "size_by_quant.png": plots.size_by_quant(zoo, t)}
    if any(r.result.energy is not None and r.result.energy.mj for r in zoo):
        out["energy_vs_macs.png"] = plots.energy_vs_macs(zoo, t)
    trained = [r for r in rows if r.accuracy_pct is not None]
    if trained:
        target = "cpu" if any(r.target == "cpu" for r in trained) else trained[0].target
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
    written = {**doc, "rows": [r.to_dict() for r in doc["rows"]]}  # results.json: each row's document
    files = {"results.json": json.dumps(written, indent=2, default=str) + "\n",
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
