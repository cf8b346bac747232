"""The Stanford HIVdb algorithm as an evaluation method (``hivdb``).

It learns nothing: each test fold's viruses are scored from their genotypes (read from the data
set's HIVDB table, so every mutation counts, not only the model features) with the algorithm of
the ``hivdb`` extra (:mod:`hivlatent.hivdb`). Metrics per drug and fold: the AUC of the score, the
balanced accuracy (and MCC) of calling resistant at level >= 3 and at level >= 4
(``balanced_accuracy_level3`` / ``_level4``; ``balanced_accuracy`` is the better of the two over
the folds, chosen after the fact: a favour to HIVdb), and Spearman's rho of score against log10
fold. HIVdb's rules were partly derived from these same data, so it is a reference, not an
independent test: every table and report says so.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .cv import Fold
from .metrics import classification_metrics

NOT_INDEPENDENT = ("HIVdb's rules were partly derived from these data: a reference, not an "
                   "independent test")


class HivdbMethod:
    name = "hivdb"

    def scores(self, dataset) -> tuple[np.ndarray, np.ndarray, str]:
        """(scores (n, d), levels (n, d), algorithm version) for every row of ``dataset``."""
        from .. import hivdb
        from ..data.genotype_files import table_genotypes
        from ..data.hivdb_tables import read_table

        hivdb.require()
        if dataset.meta is None or "row" not in dataset.meta.columns or not dataset.source \
                or " + " in dataset.source or dataset.source.endswith((".rda", ".RData")):
            raise ConfigError("the hivdb method needs the data as an HIVDB table (a named data "
                              "set such as nrti-1246, or a table's path), not --x/--y or HIV.rda")
        table = read_table(dataset.source)
        rows = dataset.meta["row"].to_numpy(dtype=int) - 1
        calls = hivdb.score(table_genotypes(table, rows), genes=[table.gene])
        missing = [d for d in dataset.drugs if d not in calls[0]]
        if missing:
            raise ConfigError(f"the HIVdb algorithm does not score {', '.join(missing)}; drop "
                              "the hivdb method or those drugs (--drugs)")
        score = np.array([[c[d].score for d in dataset.drugs] for c in calls], dtype=float)
        level = np.array([[c[d].level for d in dataset.drugs] for c in calls], dtype=float)
        return score, level, hivdb.algorithm_version()

    def evaluate(self, dataset, folds: list[Fold]) -> list[dict]:
        from scipy.stats import spearmanr

        score, level, self.version = self.scores(dataset)
        rows = []
        for fold in folds:
            j, test = fold.drug_index, fold.test
            y = dataset.labels[test, j]
            out = {"auc": classification_metrics(y, score[test, j])["auc"]}
            for t in (3, 4):
                m = classification_metrics(y, score[test, j], calls=(level[test, j] >= t))
                out[f"balanced_accuracy_level{t}"] = m["balanced_accuracy"]
                out[f"mcc_level{t}"] = m["mcc"]
            lf = dataset.log_fold[test, j]
            ok = np.isfinite(lf)
            out["spearman"] = (float(spearmanr(score[test, j][ok], lf[ok]).statistic)
                               if ok.sum() > 2 else np.nan)
            for metric, value in out.items():
                rows.append({"method": self.name, "drug": fold.drug, "metric": metric,
                             "fold": fold.fold, "value": value})
        return rows
