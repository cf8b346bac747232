"""Plain-text tables for the terminal: columns sized to their cells, the last column wrapped to
the width left. rich's tables measure and wrap every cell as rich text: about 70 ms for one
record's table of the default models' drugs (py-spy, 1000 records); a record's whole text here
takes about a millisecond.
Cells are plain text (the caller shows control characters: :func:`.escaping.visible`); widths
are display widths (wide characters count two)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from rich.cells import cell_len

#: the narrowest the last (wrapped) column gets, whatever the width
MIN_LAST = 16
GAP = "  "


def _pad(text: str, width: int, align: str) -> str:
    room = width - cell_len(text)
    if align == "right":
        return " " * room + text
    if align == "center":
        return " " * (room // 2) + text + " " * (room - room // 2)
    return text + " " * room


def wrap_items(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken after ``, `` where it can (an
    item longer than a line is broken at spaces, then anywhere)."""
    parts = text.split(", ")
    items = [p + "," for p in parts[:-1]] + parts[-1:]
    lines: list[str] = []
    for item in items:
        if lines and cell_len(lines[-1]) + 1 + cell_len(item) <= width:
            lines[-1] += " " + item
        elif cell_len(item) <= width:
            lines.append(item)
        else:
            lines += textwrap.wrap(item, width, break_on_hyphens=False)
    return lines or [""]


def render_table(headers: Sequence[str], aligns: Sequence[str], rows: Sequence[Sequence[str]],
                 width: int = 120) -> list[str]:
    """The lines of a table: a header, a rule, then the rows; ``aligns``: left, right or
    center per column. The last column wraps (at ``, `` or spaces) to what the others leave of
    ``width`` (at least :data:`MIN_LAST`); no line ends in spaces."""
    n = len(headers)
    widths = [max([cell_len(headers[j])] + [cell_len(r[j]) for r in rows]) for j in range(n)]
    fixed = sum(widths[:-1]) + len(GAP) * (n - 1)
    last = max(MIN_LAST, min(widths[-1], width - fixed))
    widths[-1] = last

    def line(cells: Sequence[str]) -> str:
        return GAP.join(_pad(c, w, a) for c, w, a in zip(cells, widths, aligns)).rstrip()

    out = [line(headers), line(["─" * w for w in widths])]
    for r in rows:
        tail = wrap_items(r[-1], last)
        out.append(line([*r[:-1], tail[0]]))
        out += [line([""] * (n - 1) + [more]) for more in tail[1:]]
    return out
