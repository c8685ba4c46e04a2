"""Tables that fit the terminal: the column that names a row is printed whole, and the others give way.

Every edgekit table is built here. Each column has a ``keep`` rank. When the table is wider than the console
(rich takes ``COLUMNS``, or 80 when the output is piped), the columns are taken most important first, each one
that still fits beside those already taken, so the least important go first. A ``fold`` column (free text: an
architecture, an accelerator) wraps onto more lines instead of being cut; the others keep their cells on one
line. The naming column (model, target, run id) is never dropped, wrapped or ellipsised. A dim line under the
table names what was left out, and ``--wide`` prints every column at its full width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

FOLD_MIN = 16  # the narrowest a folding column gets: a longer word (a path) folds across lines rather than drop it


@dataclass(frozen=True)
class Column:
    """One column: ``keep`` ranks it (higher stays longer); ``names`` marks the column that names each row."""

    header: str
    justify: str = "left"
    keep: int = 5
    names: bool = False
    fold: bool = False


def col(header: str, keep: int = 5, *, right: bool = False, names: bool = False, fold: bool = False) -> Column:
    return Column(header, "right" if right else "left", 100 if names else keep, names, fold)


class FitTable:
    """A rich table that drops its least important columns to fit the console (see the module docstring)."""

    def __init__(self, title: str | None, columns: Sequence[Column], *, show_header: bool = True):
        self.title, self.columns, self.show_header = title, list(columns), show_header
        self.rows: list[tuple[list[str], str | None]] = []

    def add_row(self, *cells, style: str | None = None) -> None:
        self.rows.append((["" if c is None else str(c) for c in cells], style))

    def _need(self, i: int, *, whole: bool = False) -> int:
        """Cells needed by column ``i``: its widest cell, or its longest word (at most FOLD_MIN) when it folds (and
        not ``whole``)."""
        c = self.columns[i]
        cells = [row[i] for row, _ in self.rows] + ([c.header] if self.show_header else [])

        def width(text: str) -> int:  # a word longer than FOLD_MIN (a path) folds within itself
            if c.fold and not whole:
                return min(max((cell_len(w) for w in text.split()), default=0), FOLD_MIN)
            return cell_len(text)

        return max((width(t) for t in cells), default=0)

    def _fits(self, shown: list[int], width: int) -> bool:
        return sum(self._need(i) for i in shown) + 3 * len(shown) + 1 <= width  # padding 2 and a border each

    def layout(self, width: int) -> tuple[list[int], list[str]]:
        """The columns shown at ``width`` (indexes), and the headers of those left out: the naming columns, then
        each other column, most important first, that still fits beside them."""
        shown = [i for i, c in enumerate(self.columns) if c.names]
        others = sorted((i for i, c in enumerate(self.columns) if not c.names), key=lambda i: -self.columns[i].keep)
        for i in others:
            if self._fits([*shown, i], width):
                shown.append(i)
        shown.sort()
        return shown, [c.header for i, c in enumerate(self.columns) if i not in shown]

    def table(self, shown: list[int]) -> Table:
        table = Table(title=self.title, show_header=self.show_header)
        for i in shown:
            c = self.columns[i]
            need = self._need(i)
            table.add_column(c.header, justify=c.justify, no_wrap=not c.fold,
                             overflow="fold", min_width=None if c.fold else need)
        for cells, style in self.rows:
            table.add_row(*(Text(cells[i]) for i in shown), style=style)
        return table

    def print(self, out: Console, *, wide: bool = False, more: str = "--wide or --json shows them") -> list[str]:
        """Print the table (every column with ``wide``) and the line naming what was left out; returns those."""
        if wide:
            shown = list(range(len(self.columns)))
            full = sum(self._need(i, whole=True) for i in shown) + 3 * len(shown) + 1
            wide_out = Console(file=out.file, width=max(full, out.width), highlight=False,
                               force_terminal=out.is_terminal, no_color=out.no_color)
            wide_out.print(self.table(shown))
            return []
        shown, left_out = self.layout(out.width)
        out.print(self.table(shown))
        if left_out:
            out.print(f"left out to fit {out.width} columns: {', '.join(left_out)} ({more})", style="dim",
                      markup=False, highlight=False)
        return left_out
