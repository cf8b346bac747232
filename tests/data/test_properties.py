"""Property-based: random small tables, valid or corrupted, parse or raise DataError, never else."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hivlatent.data import build_dataset, read_table
from hivlatent.errors import DataError

CLASSES = {"NRTI": ["3TC", "ABC", "AZT", "D4T", "DDI", "TDF"], "NNRTI": ["EFV", "NVP", "ETR"],
           "PI": ["FPV", "ATV", "LPV", "DRV"]}
LETTERS = "ACDEFGHIKLMNPQRSTVWY"
CELL = st.one_of(
    st.sampled_from(["-", "-", "-", ".", "X", "#", "~", "*", "^", "K."]),
    st.text(alphabet=LETTERS + LETTERS.lower(), min_size=1, max_size=4),
)
FOLD = st.one_of(
    st.sampled_from(["NA", "", "0.0", "200", "1e2"]),
    st.floats(min_value=0.01, max_value=1000, allow_nan=False).map(lambda f: f"{f:.3g}"),
)
NOISE = st.text(alphabet=st.sampled_from(list("aZ09.-,;\t\"' \n\r#~*?\x00é")), max_size=6)


@st.composite
def tables(draw):
    cls = draw(st.sampled_from(sorted(CLASSES)))
    drugs = draw(st.lists(st.sampled_from(CLASSES[cls]), min_size=1, max_size=3, unique=True))
    n_pos = draw(st.integers(1, 4))
    n_rows = draw(st.integers(1, 5))
    with_pt = draw(st.booleans())
    header = ["SeqID"] + (["PtID"] if with_pt else []) + drugs + [f"P{i}" for i in range(1, n_pos + 1)]
    rows = []
    for i in range(n_rows):
        row = [str(100 + i)] + (["p%d" % (i % 2)] if with_pt else [])
        row += [draw(FOLD) for _ in drugs] + [draw(CELL) for _ in range(n_pos)]
        rows.append(row)
    fmt = dict(sep=draw(st.sampled_from(["\t", ","])), bom=draw(st.booleans()),
               crlf=draw(st.booleans()), final_newline=draw(st.booleans()))
    return header, rows, fmt


def render(header, rows, sep, bom, crlf, final_newline) -> bytes:
    eol = "\r\n" if crlf else "\n"
    text = eol.join(sep.join(r) for r in [header, *rows]) + (eol if final_newline else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@st.composite
def corruptions(draw, header, rows):
    kind = draw(st.sampled_from(["cell", "fold", "id", "drop_field", "extra_field", "header",
                                 "truncate", "duplicate_id", "bytes"]))
    header, rows = list(header), [list(r) for r in rows]
    i = draw(st.integers(0, len(rows) - 1))
    j = draw(st.integers(0, len(header) - 1))
    if kind in ("cell", "fold", "id"):
        rows[i][j] = draw(NOISE)
    elif kind == "drop_field":
        del rows[i][j]
    elif kind == "extra_field":
        rows[i].insert(j, draw(NOISE))
    elif kind == "header":
        header[j] = draw(NOISE)
    elif kind == "duplicate_id":
        rows[i][0] = rows[0][0]
    return kind, header, rows


def _check(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.txt"
        p.write_bytes(data)
        try:
            table = read_table(p)
        except DataError as exc:
            assert str(p) in str(exc) and "\n" not in str(exc)
            return None
        try:
            build_dataset(table, min_count=1)
            build_dataset(table, min_count=1, mixture="first2")
        except DataError:
            pass
        return table


SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(tables())
def test_valid_tables_parse_and_round_trip(spec):
    header, rows, fmt = spec
    table = _check(render(header, rows, **fmt))
    assert table is not None
    drugs = [h for h in header if h in sum(CLASSES.values(), [])]
    assert table.drugs == drugs and table.n_rows == len(rows)
    for i, row in enumerate(rows):
        values = dict(zip(header, row))
        assert table.ids[i] == values["SeqID"]
        for d in drugs:
            text = values[d]
            got = table.folds.loc[i, d]
            if text in ("NA", ""):
                assert math.isnan(got)
            else:
                assert got == float(text)
        for c in table.cells.columns:
            assert table.cells.loc[i, c] == values[c].upper()
    ds = build_dataset(table, min_count=1)
    assert ds.X.shape == (len(rows), ds.n_features)
    assert set(np.unique(ds.X)) <= {0.0, 1.0}
    tested = ~np.isnan(table.folds[ds.drugs].to_numpy())
    assert (np.isnan(ds.labels) == ~tested).all()


@SETTINGS
@given(st.data())
def test_corrupted_tables_parse_or_raise_data_error(data):
    header, rows, fmt = data.draw(tables())
    kind, header, rows = data.draw(corruptions(header, rows))
    raw = render(header, rows, **fmt)
    if kind == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif kind == "bytes":
        k = data.draw(st.integers(0, len(raw)))
        raw = raw[:k] + data.draw(st.binary(min_size=1, max_size=4)) + raw[k:]
    _check(raw)
