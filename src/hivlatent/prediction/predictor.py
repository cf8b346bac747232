"""Genotypes in, one coherent answer per drug out, with the evidence behind it.

For every record and drug the model's predictive distribution of log10 fold change, a normal
with mean ``mu`` and standard deviation ``sd`` (:meth:`hivlatent.model.VAEModel.predict_distribution`,
a :class:`~hivlatent.predictive.distribution.PredictiveDistribution`), gives everything:

- ``fold_change``: 10 ** mu; ``fold_change_low`` / ``fold_change_high``: 10 ** (mu -+ z sd) for
  the central ``interval`` (90% by default). All three stop at the drug's reporting limit in the
  training data (the assay's maximum, e.g. 200 for 3TC): a value there means "at least this";
- ``p_resistant``: P(log10 fold >= log10 lower cutoff) = Phi(z), z = (mu - log10 lower) / sd;
  for a drug whose model recalibrated it on its training rows, expit(a + b z)
  (:mod:`hivlatent.predictive.calibration`);
- ``call``: S if 10 ** mu < lower cutoff, I if lower <= 10 ** mu < upper, R if >= upper (on
  log10 values, tolerance 1e-9); for a recalibrated drug, S if ``p_resistant`` <= 0.5, else R
  if 10 ** mu >= upper, else I. So ``p_resistant > 0.5`` exactly when the call is I or R;
- ``rank``: 1 = most likely to work, over every drug the record's models answer:
  ``p_resistant`` ascending (equal to 6 decimals: ties), then fold change over the lower cutoff;
- ``drivers``: the record's mutations that move ``mu`` most, each with the change in predicted
  log10 fold change when it alone is removed (positive: the mutation raises the fold change);
- ``neighbours``: the measured viruses nearest to the record in the model's latent space, with
  their measured fold change for the drug;
- with the ``hivdb`` extra: the Stanford HIVdb algorithm's score and level beside the model, and
  whether the two agree (model S and HIVdb level 1-2, or model I/R and HIVdb level 3-5); the
  partial scores that make up each drug's score, and per mutation HIVdb's annotations (type,
  comments, SDRM, unusual, APOBEC: :mod:`hivlatent.hivdb.annotations`);
- ``model``: which model answered (class, data set, its sha256, the hivlatent version that
  trained it: :func:`model_identity`).
- ``note``: for a drug the model does not answer because its training rows held too few
  phenotypes (BIC and CAB of the INSTI table; :func:`hivlatent.config.phenotype_support`), why;
  such a drug carries HIVdb's answer only.

Nothing depends on a record's place in a batch: the same genotype gives the same answer.
Predictions are for research use, not for clinical decisions (:data:`RESEARCH_NOTE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from ..data.mutations import ParsedGenotype, encode, feature_index, parse_genotype, resolve_gene
from ..errors import ConfigError, ModelError
from ..predictive.distribution import PredictiveDistribution
from ..sequences.batch_pool import map_chunks
from ..subtyping import SubtypeCall, subtype_record
from .applicability import (
    Applicability,
    assess,
    resistance_positions,
    training_distances,
    unseen_mutations,
    worst,
)
from .inputs import Record, from_genotype

RESEARCH_NOTE = ("For research use only: predictions of a statistical model trained on HIVDB "
                 "genotype-phenotype data, not for clinical decisions.")

_P_DECIMALS = 6     # p_resistant equal to this many decimals is a tie in the ranking
#: drivers kept per drug, and the smallest change (log10) worth showing
N_DRIVERS, MIN_DRIVER = 3, 0.05
#: genes of each drug class
CLASS_GENES = {"PI": "PR", "NRTI": "RT", "NNRTI": "RT", "INSTI": "IN"}


@dataclass(frozen=True)
class Driver:
    mutation: str
    delta: float            # predicted log10 fold change with the mutation minus without it


@dataclass(frozen=True)
class Neighbour:
    id: str
    fold_change: float      # the measured fold change for the drug
    distance: float         # Euclidean distance in the latent space


@dataclass(frozen=True)
class DrugPrediction:
    drug: str
    drug_class: str = ""
    fold_change: float | None = None
    fold_change_low: float | None = None
    fold_change_high: float | None = None
    p_resistant: float | None = None
    call: str | None = None
    rank: int | None = None
    hivdb_score: float | None = None
    hivdb_level: int | None = None
    hivdb_text: str | None = None
    agree: bool | None = None
    drivers: tuple[Driver, ...] = ()
    neighbours: tuple[Neighbour, ...] = ()
    #: the HIVdb rules that fired: (mutations, score), and sierralocal's ``partialScores``
    hivdb_partials: tuple = ()
    hivdb_partial_scores: tuple = ()
    model: Mapping | None = None            # :func:`model_identity` of the model that answered
    #: how far the virus is from the model's training data for this drug (:mod:`.applicability`)
    applicability: Applicability | None = None
    note: str | None = None     # why the model gives no answer (too few phenotypes)

    @property
    def predicted(self) -> bool:
        return self.call is not None


@dataclass(frozen=True)
class VirusPrediction:
    """The answer for one record; ``drugs`` ranked (model drugs first, then HIVdb-only ones)."""

    id: str
    mutations: dict[str, list[str]] = field(default_factory=dict)   # gene -> ["RT:M184V", ...]
    unrecognized: list[str] = field(default_factory=list)
    drugs: list[DrugPrediction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)                  # warnings and notes
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    not_covered: list[str] = field(default_factory=list)
    error: str | None = None
    interval: float = 0.9
    hivdb_version: str | None = None
    #: HIVdb's annotation of each mutation (:class:`hivlatent.hivdb.annotations.MutationAnnotation`)
    annotations: tuple = ()
    #: the subtype of a nucleotide sequence (:class:`hivlatent.subtyping.SubtypeCall`)
    subtype: SubtypeCall | None = None

    @property
    def applicability(self) -> Applicability | None:
        """The least trustworthy of the drugs' :class:`~.applicability.Applicability`."""
        return worst(d.applicability for d in self.drugs)

    def ranked(self) -> list[DrugPrediction]:
        return sorted(self.drugs, key=lambda d: (d.rank is None, d.rank or 0, d.drug_class))

    @property
    def all_mutations(self) -> list[str]:
        return [m for g in ("PR", "RT", "IN") for m in self.mutations.get(g, [])]


def rank_drugs(p: Sequence[float], fold: Sequence[float], lower: Sequence[float]) -> list[int]:
    """Rank (1 = most likely to work) of each drug: p ascending, then fold / lower."""
    order = sorted(range(len(p)), key=lambda k: (round(float(p[k]), _P_DECIMALS),
                                                 float(fold[k]) / float(lower[k]), k))
    ranks = [0] * len(order)
    for r, k in enumerate(order, start=1):
        ranks[k] = r
    return ranks


def model_identity(model) -> dict:
    """Which model answered: its drug class, the data set and sha256 it was trained on, the
    hivlatent version that trained it and its number of ensemble members."""
    from .. import __version__

    info = getattr(model, "data_info", None) or {}
    manifest = getattr(model, "manifest", None) or {}
    return {"class": model.drug_class, "data": info.get("data"),
            "data_sha256": info.get("data_sha256"),
            "hivlatent": manifest.get("hivlatent") or __version__,   # trained in this process
            "members": getattr(model, "n_members", None),
            "default": bool(manifest.get("default_model"))}


# ------------------------------------------------------------------------------------ one class

def fixed_chunks(fn, X: np.ndarray, chunk: int | None = None):
    """``fn`` applied to ``X`` in calls of exactly ``chunk`` rows (default
    :data:`~hivlatent.config.PREDICT_CHUNK`; the last call padded with zero rows), its outputs
    (an array, a tuple of arrays or a :class:`PredictiveDistribution`) joined: a row's result never depends on the other rows."""
    from ..config import PREDICT_CHUNK

    chunk = chunk or PREDICT_CHUNK
    X = np.asarray(X)
    parts = []
    for lo in range(0, max(len(X), 1), chunk):
        part = X[lo:lo + chunk]
        n = len(part)
        if n < chunk:
            part = np.concatenate([part, np.zeros((chunk - n, *X.shape[1:]), X.dtype)])
        out = fn(part)
        parts.append(out.rows(slice(None, n)) if isinstance(out, PredictiveDistribution)
                     else tuple(np.asarray(o)[:n] for o in out) if isinstance(out, tuple)
                     else np.asarray(out)[:n])
    if isinstance(parts[0], PredictiveDistribution):
        return PredictiveDistribution.concat(parts)
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(len(parts[0])))
    return np.concatenate(parts)


def covered_span(record: Record, gene: str, positions, what: str) -> str | None:
    """Why ``record`` does not cover what ``what`` reads (None when it does): a sequence whose
    span of ``gene`` holds none of ``positions`` (mutation lists cover their genes whole)."""
    span = record.coverage.get(gene)
    if span is None or not positions:
        return None
    first, last = span
    if any(first <= p <= last for p in positions):
        return None
    return (f"the input covers {gene} {first}-{last}, none of the positions {what} reads "
            f"({gene} {min(positions)}-{max(positions)})")


def _class_answers(model, reference, records: list[Record], interval: float, explain: bool,
                   k: int, subtypes: Mapping[int, SubtypeCall | None] | None = None
                   ) -> dict[int, tuple[list[DrugPrediction], list[str], list[str]]]:
    """For the records covering the model's gene: per record index, its drug predictions, its
    recognized mutations and the unrecognized ones. Each distinct genotype is evaluated once, in
    fixed-size calls (:func:`fixed_chunks`), so its answer does not depend on the batch."""
    gene = resolve_gene(model.gene)
    features = feature_index(list(model.feature_names), gene)
    read = {p for p, _ in features}
    todo = [i for i, r in enumerate(records) if r.ok and gene in r.genes
            and covered_span(r, gene, read, f"the {model.drug_class} model") is None]
    if not todo:
        return {}
    unique: dict[tuple, int] = {}
    row_of = []
    for i in todo:
        key = tuple(sorted((m.position, tuple(sorted(m.residues)))
                           for m in records[i].mutations_of(gene)))
        row_of.append(unique.setdefault(key, len(unique)))
    first = {}
    for i, u in zip(todo, row_of):
        first.setdefault(u, i)
    genotypes = [ParsedGenotype(records[first[u]].mutations_of(gene), (), records[first[u]].id)
                 for u in range(len(unique))]
    X, recognized, unrecognized = encode(genotypes, list(model.feature_names), gene)
    dist = fixed_chunks(model.predict_distribution, X)
    mu, sd = dist.mean, dist.sd
    _check(mu, sd, X.shape[0], len(model.drugs))
    drugs = list(model.drugs)
    cap = dist.caps
    low, high = dist.interval(interval)
    p_res, calls = dist.p_resistant, dist.calls
    deltas = _drivers(model, genotypes, X, mu, gene) if explain else None
    z = fixed_chunks(model.get_latent_representation, X) if reference is not None else None
    near = _neighbours(model, reference, z, k) if explain and reference is not None else None
    withheld = getattr(model, "withheld", {})
    ident = model_identity(model)
    placed = {}
    if reference is not None:
        spread = training_distances(reference)
        placed = {d: fixed_chunks(partial(spread.place, d), z) for d in drugs
                  if d in spread.latent}
    positions = {d: resistance_positions(d) for d in drugs}
    features = set(features)
    out = {}
    for i, row in zip(todo, row_of):
        preds = []
        for j, drug in enumerate(drugs):
            if drug in withheld:
                preds.append(DrugPrediction(drug, model.drug_class, note=withheld[drug],
                                            model=ident))
                continue
            drivers = () if deltas is None else deltas[row][j]
            neighbours = () if near is None else near[row][j]
            where = placed.get(drug)
            fit = assess(None if where is None else where[1][row],
                         None if where is None else where[0][row],
                         unseen_mutations(genotypes[row].mutations, reference, positions[drug],
                                          features),
                         (subtypes or {}).get(i))
            preds.append(DrugPrediction(
                drug, model.drug_class, float(10 ** min(float(mu[row, j]), cap[j])),
                float(10 ** low[row, j]), float(10 ** high[row, j]),
                float(p_res[row, j]), calls[row, j],
                drivers=drivers, neighbours=neighbours, model=ident, applicability=fit))
        out[i] = (preds, [f"{gene}:{n}" for n in recognized[row]], list(unrecognized[row]))
    return out


def _check(mu, sd, n: int, d: int) -> None:
    for name, arr in (("mean", mu), ("sd", sd)):
        if np.shape(arr) != (n, d) or not np.isfinite(arr).all():
            raise ModelError(f"the model's predictive {name} has shape {np.shape(arr)} or "
                             f"non-finite values; expected finite ({n}, {d})")
    if (np.asarray(sd) <= 0).any():
        raise ModelError("the model's predictive sd is not positive")


def _drivers(model, genotypes, X, mu, gene) -> list[list[tuple[Driver, ...]]]:
    """Per record and drug, the mutations whose removal changes the prediction most."""
    rows, owners = [], []
    for r, g in enumerate(genotypes):
        for m in g.mutations:
            rest = ParsedGenotype(tuple(x for x in g.mutations if x is not m), (), g.id)
            rows.append(rest)
            owners.append((r, m))
    out = [[() for _ in model.drugs] for _ in genotypes]
    if not rows:
        return out
    Xr, _, _ = encode(rows, list(model.feature_names), gene)
    changed = np.flatnonzero((Xr != X[[o[0] for o in owners]]).any(1))
    if len(changed) == 0:
        return out
    mu_r = fixed_chunks(model.predict_distribution, Xr[changed]).mean
    per: dict[int, list[tuple[str, np.ndarray]]] = {}
    for k, c in enumerate(changed):
        r, m = owners[c]
        per.setdefault(r, []).append((f"{gene}:{m.name}", mu[r] - mu_r[k]))
    for r, items in per.items():
        for j in range(len(model.drugs)):
            ranked = sorted(items, key=lambda it: -abs(it[1][j]))[:N_DRIVERS]
            out[r][j] = tuple(Driver(name, round(float(d[j]), 4)) for name, d in ranked
                              if abs(d[j]) >= MIN_DRIVER)
    return out


def _neighbours(model, reference, z, k: int) -> list[list[tuple[Neighbour, ...]]]:
    lat = reference.latent.astype(np.float64)
    d2 = fixed_chunks(lambda part: (part ** 2).sum(1)[:, None] - 2 * part @ lat.T
                      + (lat ** 2).sum(1)[None, :], np.asarray(z, np.float64))
    out = [[() for _ in model.drugs] for _ in range(len(z))]
    for j, drug in enumerate(model.drugs):
        if drug not in reference.drugs:
            continue
        col = reference.log_fold[:, reference.drugs.index(drug)]
        known = np.flatnonzero(np.isfinite(col))
        if not len(known):
            continue
        sub = d2[:, known]
        idx = np.argsort(sub, axis=1, kind="stable")[:, :k]
        for r in range(len(z)):
            out[r][j] = tuple(Neighbour(str(reference.ids[known[c]]), float(10 ** col[known[c]]),
                                        round(float(np.sqrt(max(sub[r, c], 0.0))), 4))
                              for c in idx[r])
    return out


# ------------------------------------------------------------------------------------ records

def predict_records(records: Sequence[Record], models: Mapping[str, tuple], interval: float = 0.9,
                    hivdb: bool | None = None, explain: bool = True,
                    neighbours: int = 5, unavailable: Mapping[str, str] | None = None,
                    classes: Sequence[str] = (), workers: int | None = 1
                    ) -> list[VirusPrediction]:
    """Answer every record with the models of its genes (``models``: drug class -> (model,
    reference or None)), HIVdb beside them (``hivdb``: None = when the extra is installed).
    ``unavailable``: drug class -> why its model could not be had (its drugs then get HIVdb's
    answer only, and each record covering its gene says why). ``classes``: further drug classes
    asked about (e.g. every default class): a record lacking their gene says so, whatever the
    other records of the batch cover. A record for which no drug is answered (its genes, or
    the positions its sequence spans, are none a model or HIVdb reads) gets an ``error``.
    ``workers`` > 1 (None: all cores) subtypes and scores the records with HIVdb in that many
    processes (:func:`hivlatent.sequences.batch_pool.map_chunks`); the answers are the same."""
    if not 0.0 < float(interval) < 1.0:
        raise ConfigError(f"interval must lie strictly between 0 and 1, got {interval}")
    records = list(records)
    version = _hivdb_version(hivdb)
    per_record = version is not None or any(r.sequence is not None for r in records)
    extras = map_chunks(partial(_record_extras, hivdb=version is not None), records,
                        workers if per_record else 1)      # no pool for nothing to do
    subtypes = {i: e[0] for i, e in enumerate(extras) if e[0] is not None}
    calls = [e[1] for e in extras] if version is not None else None
    notes_hivdb = [e[2] for e in extras] if version is not None else None
    answers = {c: _class_answers(m, ref, records, interval, explain, neighbours, subtypes)
               for c, (m, ref) in models.items()}
    lower = {d: m.cutoffs.for_drug(d)[0] for m, _ in models.values() for d in m.drugs}
    out = []
    for i, rec in enumerate(records):
        if not rec.ok:
            out.append(VirusPrediction(rec.id, error=rec.error, interval=interval))
            continue
        drugs, unrecognized, not_covered = [], [], []
        notes = list(rec.warnings)
        for c, (model, _) in models.items():
            gene = resolve_gene(model.gene)
            if i in answers[c]:
                preds, _, unrec = answers[c][i]
                drugs += preds
                unrecognized += [u for u in unrec if u not in unrecognized]
                failed = sum(str(s).startswith("failed") for s in model.statuses)
                if failed:
                    notes.append(f"{c}: {failed} of {len(model.statuses)} ensemble members "
                                 "failed in training and are left out")
            elif gene not in rec.genes:
                not_covered.append(f"{c}: the input does not cover {gene}")
            else:
                positions = {p for p, _ in feature_index(list(model.feature_names), gene)}
                not_covered.append(f"{c}: " + covered_span(rec, gene, positions,
                                                            f"the {c} model"))
        for c, why in (unavailable or {}).items():
            if c not in models and CLASS_GENES.get(c) in rec.genes:
                not_covered.append(f"{c}: {why}" + ("; HIVdb only" if calls else ""))
        for c in classes:
            if c not in models and CLASS_GENES[c] not in rec.genes:
                not_covered.append(f"{c}: the input does not cover {CLASS_GENES[c]}")
        drugs = _ranked(drugs, lower)
        if calls:
            # HIVdb beside the model's drugs; alone only for drugs of a class a model answers
            # (FTC, DOR, CAB) and of a class whose model could not be had; never for a drug
            # whose positions the sequence does not span
            keep = set(models) | set(unavailable or {})
            drugs = _with_hivdb(drugs, {d: c for d, c in calls[i].items()
                                        if c.drug_class in keep and _hivdb_covers(rec, c)},
                                notes_hivdb[i].partial_scores if notes_hivdb[i] else {})
        mutations: dict[str, list[str]] = {}
        for m in rec.genotype.mutations:
            mutations.setdefault(m.gene, []).append(f"{m.gene}:{m.name}")
        error = None
        if not any(d.predicted or d.hivdb_level is not None for d in drugs):
            error = (f"{rec.source}: no drug answered: "
                     + ("; ".join(sorted(set(not_covered))) or "no model for its genes"))
        out.append(VirusPrediction(rec.id, mutations, unrecognized, drugs, notes, rec.coverage,
                                   not_covered, error, interval, version,
                                   notes_hivdb[i].mutations if calls and notes_hivdb[i] else (),
                                   subtypes.get(i)))
    return out


def _hivdb_covers(rec: Record, call) -> bool:
    """Whether a sequence spans a position HIVdb's rules for the call's drug read."""
    from ..hivdb import rule_positions

    gene = CLASS_GENES.get(call.drug_class)
    if gene is None or gene not in rec.coverage:
        return True
    return covered_span(rec, gene, rule_positions(call.drug), "HIVdb") is None


def _ranked(drugs: list[DrugPrediction], lower: dict[str, float]) -> list[DrugPrediction]:
    """The drugs with their rank among those the models answer (withheld ones: no rank)."""
    answered = [d for d in drugs if d.predicted]
    if not answered:
        return drugs
    ranks = rank_drugs([d.p_resistant for d in answered], [d.fold_change for d in answered],
                       [lower[d.drug] for d in answered])
    rank_of = {id(d): r for d, r in zip(answered, ranks)}
    return [replace(d, rank=rank_of[id(d)]) if id(d) in rank_of else d for d in drugs]


def _hivdb_version(hivdb: bool | None) -> str | None:
    """HIVdb's algorithm version when its answers are asked for (``hivdb``: None = when the
    extra is installed; True without it raises), else None."""
    from .. import hivdb as H

    if hivdb is False or (hivdb is None and not H.available()):
        return None
    H.require()
    return H.algorithm_version()


def _record_extras(records: list[Record], hivdb: bool) -> list[tuple]:
    """Per record: its subtype (a sequence's; else None), HIVdb's calls (drug -> call) and
    HIVdb's notes on its mutations (None when HIVdb reads none of its genes). Depends on the
    record alone: run in chunks, in a process pool with ``workers``."""
    out = []
    for rec in records:
        subtype = subtype_record(rec.sequence) if rec.ok and rec.sequence is not None else None
        calls, notes = ({}, None) if not hivdb else _hivdb_record(rec)
        out.append((subtype, calls, notes))
    return out


def _hivdb_record(rec: Record) -> tuple[dict, object]:
    from .. import hivdb as H
    from ..hivdb.annotations import annotate

    genes = [g for g in rec.genes if g in H.GENES] if rec.ok else []
    if not genes:
        return {}, None
    mutations = [m for m in rec.genotype.mutations if m.gene in genes]
    calls = H.score([mutations], genes=genes)[0]
    return calls, annotate(mutations, genes, calls)


def _with_hivdb(drugs: list[DrugPrediction], calls: dict, partial: Mapping) -> list[DrugPrediction]:
    def hivdb_fields(c) -> dict:
        return {"hivdb_score": c.score, "hivdb_level": c.level, "hivdb_text": c.level_text,
                "hivdb_partials": tuple((p.mutations, p.score) for p in c.partial_scores),
                "hivdb_partial_scores": tuple(_named(partial.get(c.drug, ()),
                                                     c.partial_scores))}

    out, seen = [], set()
    for d in drugs:
        c = calls.get(d.drug)
        seen.add(d.drug)
        if c is None:
            out.append(d)
            continue
        out.append(replace(d, agree=None if not d.predicted else (d.call != "S") == (c.level >= 3),
                           **hivdb_fields(c)))
    for name, c in calls.items():
        if name not in seen:
            out.append(DrugPrediction(name, c.drug_class, **hivdb_fields(c)))
    return out


def _named(detail, parts) -> list[dict]:
    """sierralocal's partial scores, each of its mutations given this package's name too
    (``RT:T69ins`` beside sierralocal's text ``T69T``)."""
    out = []
    for k, item in enumerate(detail):
        names = parts[k].mutations if k < len(parts) else ()
        muts = [dict(m, mutation=names[j]) if j < len(names) else dict(m)
                for j, m in enumerate(item["mutations"])]
        out.append({"score": item["score"], "mutations": muts})
    return out


# ------------------------------------------------------------------------------------ one model

def predict(model, genotypes: Sequence[ParsedGenotype | str], interval: float = 0.9,
            reference=None, hivdb: bool | None = False, explain: bool = True,
            neighbours: int = 5) -> list[VirusPrediction]:
    """Per virus and drug of one model: fold change, interval, P(resistant), call, rank,
    drivers (and neighbours with a ``reference``). ``genotypes``: parsed genotypes or mutation
    strings (``"M184V K65R"``; ids ``virus1``, ``virus2`` ...) in the model's gene."""
    gene = resolve_gene(model.gene)
    records = []
    for i, g in enumerate(genotypes, start=1):
        parsed = parse_genotype(g, gene, id=f"virus{i}") if isinstance(g, str) else g
        records.append(from_genotype(replace(parsed, id=parsed.id or f"virus{i}"),
                                     f"genotype {i}", gene))
    models = {model.drug_class or "model": (model, reference)}
    return predict_records(records, models, interval, hivdb, explain, neighbours)


def check_bundle(model, where, drug_class: str | None = None) -> None:
    """A clear ModelError when a loaded bundle cannot predict, or is of another drug class."""
    if not getattr(model.model_config, "supervised", False):
        raise ModelError(f"{where}: an unsupervised VAE cannot predict resistance; "
                         "train one with `hivlatent train --model semi`")
    if drug_class and drug_class.upper() != str(model.drug_class).upper():
        raise ModelError(f"{where}: the bundle is a {model.drug_class} model "
                         f"({', '.join(model.drugs)}), not {drug_class.upper()}")
