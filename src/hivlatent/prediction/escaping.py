"""User-controlled text (record ids from FASTA headers and genotype files, the tokens a user
typed, error texts that quote them, warnings) made safe for each output format, in one place per
format:

- CSV (:func:`csv_cell`): a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return would be run as a formula by a spreadsheet (OWASP's "CSV injection"); it gets a single
  quote in front, as OWASP recommends. A cell that itself starts with a single quote gets one
  more, so the escape is undone exactly by :func:`csv_unescape` (drop one leading quote);
- the terminal table (:func:`visible`): control characters (ANSI colour and cursor
  sequences, OSC title sequences, BEL, backspace, carriage return...), Unicode format characters
  (bidirectional overrides), line separators, private-use and unassigned code points
  (:data:`HIDDEN_CATEGORIES`) are shown as ``\\x1b``, ``\\u202e``..., never sent to the
  terminal (the table is plain text: :mod:`.text_table`, no markup);
- figures (:func:`figure_text`): ``$`` is escaped so matplotlib never parses a label as
  mathtext, and control characters are shown as in the table;
- HTML: every text of a prediction report goes through :mod:`hivlatent.reporting.html_report`'s
  plain (``markup=False``) path, which HTML-escapes it and makes no link, bold or code of it;
- JSON is safe by construction (``json.dumps``) and keeps ids exactly.
"""

from __future__ import annotations

import unicodedata

#: first characters a spreadsheet reads as the start of a formula (OWASP), and the quote itself
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
QUOTE = "'"
#: Unicode categories shown as escapes: control (ANSI, OSC, BEL...), format (bidirectional
#: overrides), line and paragraph separators, surrogates, private use, unassigned
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def csv_cell(text: object) -> str:
    """``text`` as a CSV cell no spreadsheet runs as a formula (see the module docstring)."""
    s = "" if text is None else str(text)
    return QUOTE + s if s.startswith(FORMULA_STARTS + (QUOTE,)) else s


def csv_unescape(cell: str) -> str:
    """The text :func:`csv_cell` was given (one leading quote removed)."""
    return cell[1:] if cell.startswith(QUOTE) else cell


def _visible(c: str) -> str:
    cat = unicodedata.category(c)
    if cat in HIDDEN_CATEGORIES:
        code = ord(c)
        return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000
                                                        else f"\\U{code:08x}")
    return c


def visible(text: object) -> str:
    """``text`` with every control, format and line-separator character shown as an escape."""
    s = "" if text is None else str(text)
    if s.isprintable():
        return s
    return "".join(_visible(c) for c in s)


def figure_text(text: object, limit: int = 40) -> str:
    """``text`` for a matplotlib label: control characters shown, ``$`` never mathtext, at most
    ``limit`` characters (longer ones end in an ellipsis)."""
    s = visible(text)
    if len(s) > limit:
        s = s[:limit - 1] + "…"
    return s.replace("$", r"\$")
