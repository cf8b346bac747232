"""The 1246 x 228 NRTI design matrix of the R package MTPS (``data(HIV)``), as constants.

The study that started this project used this matrix. It is rebuilt from ``NRTI_DataSet.txt``
(sha256 68834a3b...) by :func:`hivlatent.data.registry.load_dataset("nrti-1246")` with:

- the row rule :func:`row_mask`: keep the rows with a fold change for all of ABC, 3TC, AZT, D4T
  and DDI (TDF is ignored) and no ``.`` cell in P1-P240, in file order (1246 rows);
- the MTPS cell encoding (``mixture="first2"``): a feature is 1 when its residue is among the
  first two characters of the cell;
- the feature list :data:`FEATURES` below, in the column order of MTPS's ``XX`` (= the header of
  X.csv). The list cannot be derived from a count threshold alone (246 features reach a count of
  10 with this encoding; MTPS kept 228), so it is written out here.

MTPS names ``X.<position><residue>`` (``X.184V``); ours put the consensus-B residue in front
(``M184V``). :data:`TO_MTPS` / :data:`FROM_MTPS` map between the two. Some features are
consensus letters that appear inside mixtures (``V21V`` = MTPS ``X.21V`` from the cell ``VI``).
"""

from __future__ import annotations

import numpy as np

#: the five drugs of MTPS's ``YY``, in its column order
DRUGS: tuple[str, ...] = ("ABC", "3TC", "AZT", "D4T", "DDI")
N_ROWS = 1246
SOURCE_FILE = "NRTI_DataSet.txt"
SOURCE_SHA256 = "68834a3b7aadec37cde96823cdfa4a8a2cf797622a9fee38cc92688ffc58887b"

#: the 228 features of MTPS's ``XX`` in its column order, in our notation
FEATURES: tuple[str, ...] = (
    "P4S", "E6D", "E6E", "E6K", "V8I", "V8V", "K11K", "K11R", "K20K", "K20R",
    "V21I", "V21V", "T27S", "E28A", "E28E", "E28K", "K32E", "K32K", "V35I", "V35L",
    "V35M", "V35R", "V35T", "V35V", "T39A", "T39K", "T39S", "T39T", "E40D", "E40E",
    "E40F", "M41L", "K43E", "K43K", "K43N", "K43Q", "E44A", "E44D", "E44E", "S48T",
    "K49K", "K49R", "I50V", "E53D", "V60I", "V60V", "A62A", "A62V", "K64K", "K64R",
    "K65R", "D67G", "D67N", "S68G", "S68N", "S68S", "T69A", "T69D", "T69N", "T69S",
    "K70G", "K70R", "L74I", "L74V", "V75I", "V75M", "V75T", "F77L", "K82R", "R83K",
    "R83R", "W88C", "W88S", "V90I", "V90V", "A98A", "A98G", "A98S", "L100I", "K101E",
    "K101K", "K101P", "K101Q", "K101R", "K102K", "K102Q", "K102R", "K103K", "K103N", "K103R",
    "K103S", "K104K", "K104N", "K104R", "V106A", "V106I", "V106V", "V108I", "V108V", "V111I",
    "Y115F", "F116Y", "V118I", "V118V", "D121D", "D121H", "D121Y", "K122E", "K122K", "K122P",
    "D123D", "D123E", "D123N", "D123S", "I135I", "I135L", "I135M", "I135R", "I135T", "I135V",
    "E138A", "E138E", "I142I", "I142T", "I142V", "Q151M", "A158S", "S162A", "S162C", "S162D",
    "S162N", "S162S", "S162Y", "T165I", "T165T", "K166K", "K166R", "E169D", "E169E", "R172K",
    "K173E", "K173K", "K173Q", "K173R", "Q174E", "Q174H", "Q174K", "Q174Q", "Q174R", "D177D",
    "D177E", "D177G", "D177N", "I178I", "I178L", "I178M", "I178V", "V179D", "V179E", "V179I",
    "V179V", "Y181C", "Y181I", "Y181Y", "M184I", "M184V", "Y188L", "V189I", "V189V", "G190A",
    "G190G", "G190S", "D192N", "I195I", "I195L", "G196E", "G196G", "Q197E", "Q197K", "T200A",
    "T200E", "T200I", "T200K", "T200T", "I202I", "I202V", "E203D", "E203E", "E203K", "E204D",
    "E204E", "Q207A", "Q207D", "Q207E", "Q207H", "Q207K", "Q207Q", "H208H", "H208Y", "L210W",
    "R211A", "R211G", "R211K", "R211Q", "R211R", "R211S", "F214F", "F214L", "T215D", "T215F",
    "T215Y", "D218E", "K219E", "K219N", "K219Q", "K219R", "H221H", "H221Y", "K223E", "K223Q",
    "E224D", "P225H", "F227L", "L228H", "L228L", "L228R", "M230L", "K238T",)


def mtps_name(feature: str) -> str:
    """``M184V`` -> ``X.184V`` (MTPS drops the consensus residue and R prefixes ``X.``)."""
    return "X." + feature.lstrip("ABCDEFGHIKLMNPQRSTVWY")


#: our name -> MTPS name, and back
TO_MTPS: dict[str, str] = {f: mtps_name(f) for f in FEATURES}
FROM_MTPS: dict[str, str] = {m: f for f, m in TO_MTPS.items()}


def row_mask(folds, cells) -> np.ndarray:
    """The MTPS row rule on a parsed ``NRTI_DataSet.txt``: all five drugs tested, no ``.`` cell.

    ``folds`` and ``cells`` are :attr:`GenoPhenoTable.folds` and :attr:`GenoPhenoTable.cells`.
    """
    tested = folds[list(DRUGS)].notna().all(axis=1).to_numpy()
    sequenced = ~(cells == ".").any(axis=1).to_numpy()
    return tested & sequenced
