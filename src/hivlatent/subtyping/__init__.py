"""HIV-1 subtype of a pol sequence: the nearest of the LANL 2023 subtype reference sequences.

The references are the Los Alamos HIV sequence database's 2023 subtype reference alignment
(``HIV1_REF_2023_genome_DNA``: 518 group-M genomes, the pure subtypes A1-A8, B, C, D, F1, F2, G,
H, J, K, L and 150 circulating recombinant forms), as the MIT-licensed PyPI package
``pyhiv-tools`` 1.0.0 ships it; only their pol region (HXB2 2085-5096, in HXB2 columns) is kept
here, in ``data/`` (provenance: ``data/PROVENANCE.md``; rebuilt with :func:`build_references`).

The method is the one of HIVdb's and PyHIV's subtypers, nearest reference by identity: the record
is already aligned to the consensus-B pol template (HXB2 numbering, :mod:`hivlatent.sequences`),
so each reference is compared with it column by column over the positions where both hold an
unambiguous base (A, C, G, T); the distance is the fraction of those that differ. The subtype is
the nearest reference's (``01_AE`` is written ``CRF01_AE``). The call is left undetermined when
fewer than :data:`MIN_COMPARED` bases could be compared, and flagged as distant when the nearest
reference is more than :data:`DISTANT` away (a new recombinant, another group or a poor
sequence). Its accuracy, measured by leaving each reference out in turn, is written by
``benchmarks/subtyping.py`` to ``docs/results/subtyping.md``.
"""

from __future__ import annotations

import csv
import functools
import gzip
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

#: the reference pol sequences kept in the package
REFERENCE_FILE = "hiv1_ref_2023_pol.tsv.gz"
#: what the method is, in one line, for reports
METHOD = "nearest of the LANL 2023 HIV-1 subtype references (pol, p-distance)"
#: fewer compared bases than this: no call
MIN_COMPARED = 250
#: a nearest reference farther than this (fraction of bases) is flagged as distant
DISTANT = 0.10

_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _CODE[ord(_b.lower())] = _i


@dataclass(frozen=True)
class SubtypeCall:
    """The subtype of one record, how close its nearest reference is, and the runner-up."""

    subtype: str = ""               #: "B", "C", "CRF02_AG"...; "" when not determined
    distance: float | None = None   #: fraction of compared bases that differ from the nearest
    reference: str = ""             #: the nearest reference's LANL name
    compared: int = 0               #: bases compared with it
    runner_up: str = ""             #: the nearest reference of another subtype
    runner_up_distance: float | None = None
    note: str = ""                  #: why there is no call, or why to doubt it
    #: the nearest pure subtype (A1-L, no recombinant): the lineage of the pol region read
    pure: str = ""
    pure_distance: float | None = None

    @property
    def determined(self) -> bool:
        return bool(self.subtype)

    @property
    def is_b(self) -> bool:
        return self.subtype == "B"

    def text(self) -> str:
        """``C (2.1% from the nearest reference; next CRF02_AG 7.9%)``, or the note."""
        if not self.determined:
            return f"not determined ({self.note})" if self.note else "not determined"
        out = f"{self.subtype} ({100 * self.distance:.1f}% from the nearest reference"
        if self.runner_up:
            out += f"; next {self.runner_up} {100 * self.runner_up_distance:.1f}%"
        if self.pure and self.pure != self.subtype:
            out += f"; nearest pure subtype {self.pure} {100 * self.pure_distance:.1f}%"
        out += ")"
        return out + (f"; {self.note}" if self.note else "")

    def to_dict(self) -> dict:
        return {"subtype": self.subtype or None, "distance": self.distance,
                "reference": self.reference or None, "compared": self.compared,
                "runner_up": self.runner_up or None,
                "runner_up_distance": self.runner_up_distance,
                "pure_subtype": self.pure or None, "pure_distance": self.pure_distance,
                "note": self.note, "method": METHOD}


def subtype_name(lanl: str) -> str:
    """The subtype in a LANL reference name: ``Ref.01_AE.TH.90.CM240.U54771`` -> ``CRF01_AE``."""
    token = lanl.split(".")[1]
    return f"CRF{token}" if token[:1].isdigit() else token


@dataclass(frozen=True)
class References:
    names: tuple[str, ...]
    subtypes: tuple[str, ...]
    codes: np.ndarray               # (n, 3012) uint8: A C G T = 0-3, anything else 4


@functools.lru_cache(maxsize=1)
def references() -> References:
    """The reference pol sequences (read once per process)."""
    raw = resources.files(__package__).joinpath("data").joinpath(REFERENCE_FILE).read_bytes()
    names, seqs = [], []
    for line in gzip.decompress(raw).decode("ascii").splitlines():
        name, seq = line.split("\t")
        names.append(name)
        seqs.append(seq)
    codes = _CODE[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)]
    return References(tuple(names), tuple(subtype_name(n) for n in names),
                      codes.reshape(len(seqs), -1))


def call_subtype(pol_bases: str, exclude: int | None = None) -> SubtypeCall:
    """The subtype of a record given its base at each pol-template offset (``.`` where not
    covered; :attr:`hivlatent.sequences.AlignedRecord.pol_bases`). ``exclude``: a reference
    index to leave out (for leave-one-out evaluation)."""
    refs = references()
    if len(pol_bases) != refs.codes.shape[1]:
        raise ValueError(f"pol_bases has {len(pol_bases)} positions, expected "
                         f"{refs.codes.shape[1]}")
    q = _CODE[np.frombuffer(pol_bases.encode("ascii"), dtype=np.uint8)]
    cols = np.flatnonzero(q < 4)
    ref, q = refs.codes[:, cols], q[cols]
    ok = ref < 4
    compared = ok.sum(1)
    differ = ((ref != q[None, :]) & ok).sum(1)
    dist = np.where(compared > 0, differ / np.maximum(compared, 1), np.inf)
    if exclude is not None:
        dist[exclude] = np.inf
    best = int(np.argmin(dist))
    if compared[best] < MIN_COMPARED:
        return SubtypeCall(compared=int(compared[best]),
                           note=f"only {int(compared[best])} unambiguous pol bases to compare "
                                f"(at least {MIN_COMPARED} needed)")
    subtype = refs.subtypes[best]
    other = [k for k in np.argsort(dist, kind="stable") if refs.subtypes[k] != subtype
             and np.isfinite(dist[k])]
    note = ""
    if dist[best] > DISTANT:
        note = (f"distant from every reference (more than {100 * DISTANT:.0f}%): a new "
                "recombinant, another group or a poor sequence")
    pure = [k for k in np.argsort(dist, kind="stable") if not refs.subtypes[k].startswith("CRF")
            and np.isfinite(dist[k])]
    return SubtypeCall(subtype, round(float(dist[best]), 4), refs.names[best],
                       int(compared[best]), refs.subtypes[other[0]] if other else "",
                       round(float(dist[other[0]]), 4) if other else None, note,
                       refs.subtypes[pure[0]] if pure else "",
                       round(float(dist[pure[0]]), 4) if pure else None)


def subtype_record(record) -> SubtypeCall:
    """The subtype of an :class:`~hivlatent.sequences.AlignedRecord` (nucleotide records only)."""
    if record is None or not getattr(record, "pol_bases", ""):
        return SubtypeCall(note="no nucleotide sequence")
    return call_subtype(record.pol_bases)


def build_references(lanl_csv: str | Path, out: str | Path) -> int:
    """Write :data:`REFERENCE_FILE` from LANL's ``HIV1_REF_2023_genome_DNA.csv`` (name, aligned
    genome): each reference's bases in the HXB2 pol columns (2085-5096; insertions relative to
    HXB2 dropped, its gaps kept as ``-``). Returns the number of references."""
    from ..sequences.reference_sequences import POL_HXB2_END, POL_HXB2_START, hxb2_pol

    with open(lanl_csv, newline="") as fh:
        rows = [r for r in csv.reader(fh) if len(r) == 2]
    hxb2 = next(seq for name, seq in rows if "HXB2" in name)
    cols, pos = [], 0
    for j, c in enumerate(hxb2):
        if c != "-":
            pos += 1
            if POL_HXB2_START <= pos <= POL_HXB2_END:
                cols.append(j)
    if "".join(hxb2[j] for j in cols).upper() != hxb2_pol():
        raise ValueError(f"{lanl_csv}: its HXB2 row does not hold HXB2 pol in these columns")
    lines = [f"{name}\t{''.join(seq[j] for j in cols).upper()}" for name, seq in rows]
    Path(out).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("ascii"), mtime=0))
    return len(lines)


__all__ = ["DISTANT", "METHOD", "MIN_COMPARED", "SubtypeCall", "build_references",
           "call_subtype", "references", "subtype_name", "subtype_record"]
