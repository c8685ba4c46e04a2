"""The study's report.html: report.md's content, self-contained (its PNGs inline, no external CSS or script)."""

from __future__ import annotations

import base64
import html

from edgekit.study.report_md import (
    COLUMNS,
    EST_NOTE,
    NOISY_NOTE,
    PLOTS,
    _few_rounds_note,
    cells,
    failed_lines,
    footnotes,
    markdown,
    phone_lines,
    sources_line,
)


def html_page(doc: dict, plots: dict[str, bytes]) -> str:
    """The same content as report.md, self-contained: PNGs inline, no external CSS or script."""
    notes, texts = footnotes(doc)
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in COLUMNS)
    body = []
    for r in doc["rows"]:
        tds = "".join(f'<td class="est">{e(c)}</td>' if c.endswith(" est.") else f"<td>{e(c)}</td>"
                      for c in cells(r, notes))
        body.append(f'<tr class="noisy" title="{e(NOISY_NOTE)}">{tds}</tr>' if r.result.noisy else f"<tr>{tds}</tr>")
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
