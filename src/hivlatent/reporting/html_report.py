"""A self-contained HTML report: one file, figures inlined as base64 PNG, no external resources.

    report = Report("VAE on NRTI 1246 x 228")
    report.add_heading("Training")
    report.add_figure(plot_loss_curves(history, "latent 10"), "Loss per epoch.")
    report.add_table(metrics, "Cross-validated AUC.")
    report.write("runs/study/report.html")

Content goes into :class:`Section` objects kept in ``report.sections``; ``add_*`` on the report
appends to the last section, ``report.add_section(...)`` (or ``add_heading``) starts a new one, and
any later step (a sweep, an evaluation) can append its own sections before ``write``.

The page is built with :class:`string.Template` from ``templates/`` (plain standard library: no
templating dependency for a page this small). All text is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template

import pandas as pd
from matplotlib.figure import Figure

from .. import __version__
from ..errors import DataError
from ..files import write_text

__all__ = ["Report", "Section", "DEFAULT_RESEARCH_NOTE"]

DEFAULT_RESEARCH_NOTE = (
    "Research use only. These results come from models trained on the Stanford HIVDB "
    "genotype-phenotype data sets. They are not a clinical resistance interpretation and must not "
    "be used to choose or change treatment."
)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_CSS_PX_PER_INCH = 96


def _template(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def _inline(text: str) -> str:
    """Escape ``text``, then apply a little markdown: **bold**, *italic*, `code`, [text](url)."""
    out = html.escape(str(text), quote=False)
    codes: list[str] = []

    def keep_code(m: re.Match) -> str:
        codes.append(f"<code>{m.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    out = re.sub(r"`([^`]+)`", keep_code, out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)
    out = re.sub(r"\[([^\]]+)\]\(((?:https?://|#)[^)\s\"]+)\)",
                 r'<a href="\2">\1</a>', out)  # already escaped
    return re.sub(r"\x00(\d+)\x00", lambda m: codes[int(m.group(1))], out)


def _text(text: str, markup: bool) -> str:
    """The one way text reaches the page: :func:`_inline` markup, or (``markup=False``, for text
    a user wrote) escaped only, so no link, tag or markup is ever made of it."""
    return _inline(text) if markup else html.escape(str(text), quote=False)


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    slug, i = base, 2
    while slug in taken:
        slug, i = f"{base}-{i}", i + 1
    taken.add(slug)
    return slug


def _png_info(data: bytes) -> tuple[int, int, float | None]:
    """(width px, height px, dots per inch or None) from a PNG's IHDR and pHYs chunks."""
    width, height = struct.unpack(">II", data[16:24])
    dpi = None
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"pHYs" and length == 9:
            ppu_x, _, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and ppu_x > 0:
                dpi = ppu_x * 0.0254
            break
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return width, height, dpi


@dataclass
class Section:
    """A heading and its blocks (HTML fragments, in order)."""

    heading: str
    level: int = 2
    blocks: list[str] = field(default_factory=list)
    n_figures: int = 0

    def add_text(self, text: str, markup: bool = True) -> "Section":
        """Paragraphs (separated by blank lines) with **bold**, *italic*, `code`, [links](url);
        with ``markup=False`` (text a user wrote: record ids, errors quoting them) only
        HTML-escaped, with no link or markup made of it."""
        for para in re.split(r"\n\s*\n", str(text).strip()):
            if para.strip():
                self.blocks.append(f"<p>{_text(' '.join(para.split()), markup)}</p>")
        return self

    add_paragraph = add_text

    def add_subheading(self, text: str) -> "Section":
        self.blocks.append(f"<h3>{html.escape(text)}</h3>")
        return self

    def add_figure(self, figure: Figure | str | os.PathLike, caption: str = "",
                   alt: str | None = None, dpi: int = 150) -> "Section":
        """A matplotlib Figure (rendered to PNG at ``dpi``) or a PNG file, inlined as a data URI.
        A path without suffix (as passed to ``save_figure``) means the ``.png`` beside it."""
        if isinstance(figure, Figure):
            buf = io.BytesIO()
            figure.savefig(buf, format="png", dpi=dpi)
            data = buf.getvalue()
            source = "figure"
        else:
            path = Path(figure)
            if not path.is_file() and path.with_name(path.name + ".png").is_file():
                path = path.with_name(path.name + ".png")
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise DataError(f"cannot read figure {path}: {exc.strerror or exc}") from exc
            source = path.name
            if not data.startswith(_PNG_MAGIC):
                raise DataError(f"figure {path} is not a PNG file; expected a PNG image "
                                "(save figures with save_figure) or a matplotlib Figure")
        width, height, file_dpi = _png_info(data)
        scale = _CSS_PX_PER_INCH / (file_dpi or _CSS_PX_PER_INCH)
        css_w, css_h = round(width * scale), round(height * scale)
        alt_text = alt if alt is not None else (caption or source)
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        cap = f"\n<figcaption>{_inline(caption)}</figcaption>" if caption else ""
        self.blocks.append(
            f'<figure>\n<img src="{uri}" width="{css_w}" height="{css_h}" '
            f'alt="{html.escape(alt_text)}">{cap}\n</figure>')
        self.n_figures += 1
        return self

    def add_table(self, df: pd.DataFrame | pd.Series, caption: str = "", index: bool = True,
                  float_format: str = "{:.3g}", max_rows: int | None = 200) -> "Section":
        """A DataFrame as an HTML table (values escaped, NaN shown as an en dash)."""
        if isinstance(df, pd.Series):
            df = df.to_frame()
        table = df.to_html(classes="data", border=0, index=index, na_rep="–", escape=True,
                           float_format=float_format.format, max_rows=max_rows)
        cap = f'<p class="caption">{_inline(caption)}</p>\n' if caption else ""
        self.blocks.append(f'<div class="table-wrap">\n{cap}{table}\n</div>')
        return self

    def add_pre(self, text: str, caption: str = "") -> "Section":
        """Preformatted text, e.g. a Keras-style model summary."""
        cap = f'<p class="caption">{_inline(caption)}</p>\n' if caption else ""
        self.blocks.append(f"{cap}<pre>{html.escape(str(text).rstrip())}</pre>")
        return self

    def add_list(self, items: Iterable[str], caption: str = "", ordered: bool = False,
                 markup: bool = True) -> "Section":
        """A bulleted (or numbered) list, e.g. the findings (``markup``: as in :meth:`add_text`)."""
        tag = "ol" if ordered else "ul"
        lis = "\n".join(f"<li>{_text(i, markup)}</li>" for i in items)
        cap = f'<p class="caption">{_inline(caption)}</p>\n' if caption else ""
        self.blocks.append(f'{cap}<{tag} class="findings">\n{lis}\n</{tag}>')
        return self

    def add_figure_row(self, figures: list, captions: list[str]) -> "Section":
        """Figures side by side (each as in :meth:`add_figure`), wrapping on narrow screens."""
        start = len(self.blocks)
        for fig, cap in zip(figures, captions):
            self.add_figure(fig, cap)
        cells = "".join(f'<div style="flex:1 1 420px;min-width:0">{b}</div>' for b in self.blocks[start:])
        del self.blocks[start:]
        self.blocks.append(f'<div style="display:flex;flex-wrap:wrap;gap:12px">{cells}</div>')
        return self

    def add_html(self, fragment: str) -> "Section":
        """A trusted HTML fragment, inserted as is (must not load external resources)."""
        self.blocks.append(fragment)
        return self


class Report:
    """A single-file HTML report made of sections.

    ``research_note`` is shown in a box under the title (set it to ``None`` to leave it out).
    ``kind`` (e.g. ``"prediction"``) is written in a ``<meta name="hivlatent-report">`` tag of
    the page's head, by which :func:`written_report` knows the file again.
    """

    def __init__(self, title: str, subtitle: str = "",
                 research_note: str | None = DEFAULT_RESEARCH_NOTE, kind: str = "") -> None:
        self.title = title
        self.kind = kind
        self.subtitle = subtitle
        self.research_note = research_note
        self.sections: list[Section] = []

    # -- structure
    def add_section(self, heading: str, level: int = 2) -> Section:
        """Start a new section and return it; later ``add_*`` calls on the report go into it."""
        section = Section(heading, level)
        self.sections.append(section)
        return section

    add_heading = add_section

    def section(self, heading: str) -> Section:
        """The first section with this heading, created at the end if there is none."""
        for s in self.sections:
            if s.heading == heading:
                return s
        return self.add_section(heading)

    @property
    def current(self) -> Section:
        if not self.sections:
            self.sections.append(Section("", level=2))  # untitled introduction
        return self.sections[-1]

    @property
    def n_figures(self) -> int:
        return sum(s.n_figures for s in self.sections)

    # -- content (into the current section)
    def add_text(self, text: str, markup: bool = True) -> "Report":
        self.current.add_text(text, markup)
        return self

    add_paragraph = add_text

    def add_figure(self, figure: Figure | str | os.PathLike, caption: str = "",
                   alt: str | None = None, dpi: int = 150) -> "Report":
        self.current.add_figure(figure, caption, alt, dpi)
        return self

    def add_figure_row(self, figures: list, captions: list[str]) -> "Report":
        self.current.add_figure_row(figures, captions)
        return self

    def add_table(self, df: pd.DataFrame | pd.Series, caption: str = "", index: bool = True,
                  float_format: str = "{:.3g}", max_rows: int | None = 200) -> "Report":
        self.current.add_table(df, caption, index, float_format, max_rows)
        return self

    def add_pre(self, text: str, caption: str = "") -> "Report":
        self.current.add_pre(text, caption)
        return self

    def add_list(self, items: Iterable[str], caption: str = "", ordered: bool = False,
                 markup: bool = True) -> "Report":
        self.current.add_list(items, caption, ordered, markup)
        return self

    def add_findings(self, items: Iterable[str]) -> "Report":
        """A "Findings" section with one bullet per finding."""
        self.section("Findings").add_list(items)
        return self

    # -- output
    def render(self) -> str:
        """The whole page as a string."""
        taken: set[str] = set()
        body, toc = [], []
        for s in self.sections:
            parts = []
            if s.heading:
                sid = _slug(s.heading, taken)
                tag = f"h{min(max(s.level, 2), 6)}"
                parts.append(f'<{tag} id="{sid}">{html.escape(s.heading)}</{tag}>')
                if s.level <= 2:
                    toc.append(f'<li><a href="#{sid}">{html.escape(s.heading)}</a></li>')
            parts.extend(s.blocks)
            body.append('<section>\n' + "\n".join(parts) + '\n</section>')
        toc_html = ('<nav class="toc"><strong>Contents</strong>\n<ol>\n' + "\n".join(toc)
                    + "\n</ol></nav>") if len(toc) >= 2 else ""
        note = (f'<aside class="note" role="note"><strong>Research use only.</strong> '
                f"{_inline(self._note_body())}</aside>") if self.research_note else ""
        subtitle = f'<p class="subtitle">{_inline(self.subtitle)}</p>' if self.subtitle else ""
        return Template(_template("report.html")).substitute(
            title=html.escape(self.title), subtitle=subtitle, note=note, toc=toc_html,
            body="\n".join(body), css=_template("report.css"), script=_template("report.js"),
            generator=html.escape(f"hivlatent {__version__}"),
            kind=f'<meta name="hivlatent-report" content="{html.escape(self.kind)}">\n'
            if self.kind else "",
        )

    def _note_body(self) -> str:
        note = str(self.research_note).strip()
        for prefix in ("Research use only.", "For research use only:"):
            if note.lower().startswith(prefix.lower()):
                note = note[len(prefix):].strip()
                return note[:1].upper() + note[1:]
        return note

    def write(self, path: str | os.PathLike) -> Path:
        """Write the page atomically (temporary file in the same folder, then rename)."""
        return write_text(path, self.render())


def written_report(path: str | os.PathLike, kind: str) -> bool:
    """Whether ``path`` is a page :class:`Report` wrote with this ``kind``: it starts with the
    head the template writes, byte for byte (any hivlatent version in the generator tag), with
    this kind's tag, and ends with ``</html>``. A user's file that merely mentions hivlatent, or
    holds a copied fragment of a report, is not one."""
    head = _template("report.html").split("$generator", 1)[0]
    try:
        with open(path, "rb") as fh:
            start = fh.read(len(head.encode()) + 300)
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - 64, 0))
            end = fh.read()
    except OSError:
        return False
    tail = (f'">\n<meta name="hivlatent-report" content="{html.escape(kind)}">\n<title>')
    text = start.decode("utf-8", errors="replace")
    if not text.startswith(head):
        return False
    version, _, rest = text[len(head):].partition('"')
    return (re.fullmatch(r"hivlatent [0-9A-Za-z.+_-]{1,40}", version) is not None
            and ('"' + rest).startswith(tail) and end.rstrip().endswith(b"</html>"))
