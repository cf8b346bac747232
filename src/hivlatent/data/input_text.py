"""The text of an input file, however it was saved: plain or gzip-compressed (other
compressions are named in the error), UTF-8 with or without a byte-order mark, CRLF or CR-only
line endings made ``\\n``, at most :data:`~hivlatent.config.MAX_INPUT_BYTES` bytes. Every reader
of user files goes through :func:`read_input` (FASTA, mutation lists, CSV, HIVDB tables), and
standard input through :func:`decode_input`, so each is read the same way; a problem is a
:class:`~hivlatent.errors.DataError` naming the file (and line, for a byte that is not UTF-8).
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

from ..config import MAX_INPUT_BYTES
from ..errors import DataError, DataFileNotFoundError

#: the first bytes of compressed files: gzip is read; the others are named in the error
_GZIP = b"\x1f\x8b"
_OTHER_COMPRESSION = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip",
                      b"\x28\xb5\x2f\xfd": "zstd"}
EXPECTED = ("expected a genotype file: FASTA, mutation lists, a CSV with id and mutations, or "
            "an HIVDB table")


def decode_input(data: bytes, source: str) -> str:
    """The text of an input's bytes: gzip decompressed (other compressions are named in the
    error), UTF-8 with or without a byte-order mark, every line ending (CRLF, CR) made ``\\n``;
    at most :data:`~hivlatent.config.MAX_INPUT_BYTES` bytes."""
    if data.startswith(_GZIP):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{source}: a damaged gzip file ({exc}); expected a whole gzip "
                            "file or plain text") from None
    for magic, name in _OTHER_COMPRESSION.items():
        if data.startswith(magic):
            raise DataError(f"{source}: a {name}-compressed file; expected plain text or gzip "
                            f"(decompress it first)")
    if len(data) > MAX_INPUT_BYTES:
        raise DataError(f"{source}: more than {MAX_INPUT_BYTES} bytes; expected at most that "
                        "(split the input)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{source}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                        f"{EXPECTED}") from None
    return normalise_text(text)


def normalise_text(text: str) -> str:
    """Text with its byte-order mark removed and CRLF and CR line endings made ``\\n``."""
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def read_input(path: str | Path) -> str:
    """The text of an input file (see :func:`decode_input`); a missing file, a folder or an
    unreadable file is a DataError naming it."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder; {EXPECTED}")
    if not path.exists():
        raise DataFileNotFoundError(f"{path}: file not found; {EXPECTED}")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode_input(data, str(path))
