"""The fenced code blocks of README.md and docs/**/*.md, with the `<!-- test: ... -->` comments
that adjust how tests/test_docs_examples.py runs them (docs/development.md#every-example-runs):

    <!-- test: replace "OLD" "NEW" -->   run with OLD replaced by NEW (OLD must occur)
    <!-- test: exit N -->                the block is expected to exit with status N
    <!-- test: skip: REASON -->          not run
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ("bash", "python")
#: fence languages that are shown, never run
SHOWN = ("text", "yaml", "toml", "json", "csv")
_FENCE = re.compile(r"^```([\w-]*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->\s*$")
_REPLACE = re.compile(r'^replace\s+"((?:[^"\\]|\\.)*)"\s+"((?:[^"\\]|\\.)*)"$')


@dataclass
class Block:
    page: Path
    line: int                              # 1-based line of the opening fence
    lang: str
    code: str
    replace: list[tuple[str, str]] = field(default_factory=list)
    exit: int = 0
    skip: str | None = None

    @property
    def where(self) -> str:
        return f"{_name(self.page)}:{self.line}"

    def runnable_code(self) -> str:
        code = self.code
        for old, new in self.replace:
            if old not in code:
                raise ValueError(f"{self.where}: test: replace {old!r}: not in the block")
            code = code.replace(old, new)
        return code


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else str(page)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _directive(text: str, block: Block, where: str) -> None:
    m = _REPLACE.match(text)
    if m:
        unescape = lambda s: s.replace('\\"', '"').replace("\\\\", "\\")  # noqa: E731
        block.replace.append((unescape(m.group(1)), unescape(m.group(2))))
    elif re.fullmatch(r"exit \d+", text):
        block.exit = int(text.split()[1])
    elif text.startswith("skip:") and text[5:].strip():
        block.skip = text[5:].strip()
    else:
        raise ValueError(f"{where}: unknown test comment {text!r}; expected replace \"OLD\" "
                         "\"NEW\", exit N or skip: REASON")


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page``, with the test comments right above it (ValueError for a
    fence without a language, an unknown comment, or a comment not followed by a fence)."""
    lines = page.read_text().splitlines()
    out: list[Block] = []
    pending: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        d = _DIRECTIVE.match(lines[i])
        if d:
            pending.append((i + 1, d.group(1)))
            i += 1
            continue
        m = _FENCE.match(lines[i])
        if m:
            lang = m.group(1)
            where = f"{_name(page)}:{i + 1}"
            if not lang:
                raise ValueError(f"{where}: a fenced block without a language; use bash or "
                                 f"python to run it, or one of {', '.join(SHOWN)} to show it")
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            if end is None:
                raise ValueError(f"{where}: the block is never closed")
            block = Block(page, i + 1, lang, "\n".join(lines[i + 1:end]) + "\n")
            for at, text in pending:
                _directive(text, block, f"{_name(page)}:{at}")
            if pending and lang not in RUN:
                raise ValueError(f"{where}: test comments above a {lang} block, which is not run")
            out.append(block)
            pending = []
            i = end + 1
            continue
        if pending and lines[i].strip():
            at = pending[0][0]
            raise ValueError(f"{_name(page)}:{at}: a test comment must stand right "
                             "above a fenced block")
        i += 1
    if pending:
        raise ValueError(f"{_name(page)}:{pending[0][0]}: a test comment at the end")
    return out
