"""Write the fast tier's synthetic HIVDB tables (no real data: every row is drawn from the rule
below with a fixed seed, so tests can assert on what the rule implies).

    python tests/data/synthetic/make_synthetic.py          # rewrites the .txt files beside it
    python tests/data/synthetic/make_synthetic.py --check  # exit 1 if a committed file differs

The rule, per table: each virus carries each listed mutation independently with its prevalence
(a few as a two-letter mixture with the consensus letter, which the encoder counts as the
mutation); its log10 fold change for a drug is the sum of the listed effects of the mutations it
carries plus Gaussian noise (sd :data:`NOISE`), written with one decimal as HIVDB does (at least
0.1-fold, at most :data:`CAP`). A few cells are ``.`` (not sequenced) and a few phenotypes ``NA``
(not tested). Patients (``PtID``) hold one or two viruses. The format is the tab-separated
``*_DataSet.txt`` layout that :func:`hivlatent.data.read_table` reads.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20261206
NOISE = 0.08
CAP = 200.0

#: per table: gene length (P1..Pn), rows, {mutation: prevalence}, {drug: {mutation: log10 effect}}
TABLES = {
    "NRTI_synthetic.txt": dict(
        length=240, rows=300,
        mutations={"M41L": 0.2, "K65R": 0.12, "D67N": 0.2, "K70R": 0.15, "L74V": 0.1,
                   "M184V": 0.35, "L210W": 0.1, "T215Y": 0.2, "K219Q": 0.12,
                   # polymorphisms with no effect on any drug
                   "K20R": 0.15, "V35I": 0.2, "T39A": 0.1, "V60I": 0.15, "K122E": 0.3,
                   "D123E": 0.15, "I135T": 0.2, "S162C": 0.1, "D177E": 0.15, "T200A": 0.15,
                   "R211K": 0.3, "F214L": 0.1},
        effects={"3TC": {"M184V": 2.0, "K65R": 0.4},
                 "AZT": {"M41L": 0.4, "D67N": 0.3, "K70R": 0.4, "L210W": 0.3, "T215Y": 1.0,
                         "K219Q": 0.3, "M184V": -0.3},
                 "TDF": {"K65R": 0.5, "K70R": 0.1, "T215Y": 0.2, "M184V": -0.2}}),
    "PI_synthetic.txt": dict(
        length=99, rows=200,
        mutations={"M46I": 0.2, "I50V": 0.08, "I54V": 0.15, "V82A": 0.2, "I84V": 0.12,
                   "L90M": 0.25, "L10I": 0.3, "I13V": 0.2, "K20R": 0.15, "E35D": 0.3,
                   "M36I": 0.3, "L63P": 0.4, "A71V": 0.15, "V77I": 0.25, "I93L": 0.3},
        effects={"LPV": {"M46I": 0.4, "I50V": 0.6, "I54V": 0.5, "V82A": 0.6, "I84V": 0.5,
                         "L90M": 0.3},
                 "DRV": {"I50V": 0.8, "I54V": 0.2, "I84V": 0.6}}),
}


def _cells(name: str, spec: dict, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """The rows' position cells and each row's mutations (upper-case letters, '-' consensus)."""
    n, length = spec["rows"], spec["length"]
    cells = np.full((n, length), "-", dtype=object)
    carried = np.zeros((n, len(spec["mutations"])), dtype=bool)
    for j, (mutation, prevalence) in enumerate(spec["mutations"].items()):
        wild, pos, mutant = mutation[0], int(mutation[1:-1]), mutation[-1]
        has = rng.random(n) < prevalence
        mixed = has & (rng.random(n) < 0.1)
        cells[has, pos - 1] = mutant
        cells[mixed, pos - 1] = wild + mutant
        carried[:, j] = has
    unsequenced = rng.random((n, length)) < 0.002
    unsequenced[:, [int(m[1:-1]) - 1 for m in spec["mutations"]]] = False   # the rule stays exact
    cells[unsequenced] = "."
    return cells, carried


def table_text(name: str, spec: dict, rng: np.random.Generator) -> str:
    """One table as the text of a tab-separated HIVDB ``*_DataSet.txt``."""
    n = spec["rows"]
    cells, carried = _cells(name, spec, rng)
    mutations = list(spec["mutations"])
    drugs = list(spec["effects"])
    folds = {}
    for drug, effects in spec["effects"].items():
        beta = np.array([effects.get(m, 0.0) for m in mutations])
        log_fold = carried @ beta + rng.normal(0.0, NOISE, n)
        fold = np.clip(np.round(10.0 ** log_fold, 1), 0.1, CAP)
        tested = rng.random(n) >= 0.05
        folds[drug] = [f"{f:.1f}" if t else "NA" for f, t in zip(fold, tested)]
    patient = np.cumsum(rng.random(n) < 0.7) + 1000
    header = ["SeqID", "PtID", *drugs, *(f"P{p}" for p in range(1, spec["length"] + 1))]
    lines = ["\t".join(header)]
    for i in range(n):
        row = [str(1 + i), str(patient[i]), *(folds[d][i] for d in drugs), *cells[i]]
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def generate() -> dict[str, str]:
    """Every table's text, from the one seed (the same bytes on every machine)."""
    rng = np.random.default_rng(SEED)
    return {name: table_text(name, spec, rng) for name, spec in TABLES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed files instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for name, text in generate().items():
        path = HERE / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}: run python {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
