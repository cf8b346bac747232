"""The tests' shared helpers, the one module tests import helpers from (fixtures are in
conftest.py; a test module never imports another test module).

- paths: :data:`ROOT` (the checkout), :data:`SYNTHETIC` (the fast tier's synthetic HIVDB tables);
- :func:`assert_user_error`: a CLI run ended in one line on stderr, exit code 2;
- headless Chromium: :func:`dump_dom`, :func:`body_attributes`, :func:`screenshot`;
- the documentation's fenced blocks: :func:`pages`, :func:`blocks`;
- small data made in memory: :func:`small_table`, :func:`toy_dataset`, :func:`toy_train_data`,
  :func:`toy_jobs`, :func:`job_variant`, :func:`diverging`, :class:`StubModel`,
  :func:`tiny_default_entry`.

Headless Chromium is taken from $HIVLATENT_TEST_CHROMIUM, else /usr/bin/chromium, else
`chromium` on PATH. When it is missing the test FAILS in CI (CI=true) or when
HIVLATENT_TEST_CHROMIUM names a missing file, and is skipped only on a developer machine outside CI.

The fenced code blocks of README.md and docs/**/*.md carry `<!-- test: ... -->` comments that
adjust how tests/docs/test_docs_examples.py runs them (docs/development.md#every-example-runs):

    <!-- test: replace "OLD" "NEW" -->   run with OLD replaced by NEW (OLD must occur)
    <!-- test: exit N -->                the block is expected to exit with status N
    <!-- test: skip: REASON -->          not run
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

#: the checkout's root folder
ROOT = Path(__file__).resolve().parents[1]
#: the fast tier's synthetic HIVDB tables and the script that writes them (its docstring: the rule)
SYNTHETIC = ROOT / "tests" / "data" / "synthetic"


def assert_user_error(result, *fragments):
    """Exit code 2, one line on stderr starting with "error: ", no traceback, and every
    fragment in the message."""
    code, out, err = result
    assert code == 2, (code, out, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    for f in fragments:
        assert f in err, (f, err)


# ----------------------------------------------------------------------- headless Chromium

_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",  # any network request would fail: the page must be offline
]


def chromium() -> str:
    """Path of the Chromium binary, or fail/skip as described in the module docstring."""
    explicit = os.environ.get("HIVLATENT_TEST_CHROMIUM")
    candidates = [explicit] if explicit else ["/usr/bin/chromium", shutil.which("chromium") or ""]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    msg = (f"Chromium not found (looked for {', '.join(c for c in candidates if c)}); "
           "install Debian's chromium or set HIVLATENT_TEST_CHROMIUM")
    if explicit or os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg)
    pytest.skip(msg)


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="hivlatent-chromium-") as profile:
        return subprocess.run([chromium(), *_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(page: Path, budget_ms: int = 5000) -> str:
    """The serialised DOM of ``page`` after load (scripts have run)."""
    proc = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", Path(page).resolve().as_uri()])
    if proc.returncode != 0 or "<body" not in proc.stdout:
        pytest.fail(f"chromium --dump-dom failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def body_attributes(dom: str) -> dict[str, str]:
    """The attributes of the first <body> tag in a dumped DOM."""
    m = re.search(r"<body([^>]*)>", dom)
    assert m, "no <body> in the dumped DOM"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))


def screenshot(page: Path, out: Path, size: tuple[int, int] = (1280, 2000)) -> Path:
    """A PNG screenshot of ``page`` at window ``size``."""
    proc = _run([f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=5000",
                 f"--screenshot={Path(out).resolve()}", Path(page).resolve().as_uri()])
    if proc.returncode != 0 or not Path(out).is_file():
        pytest.fail(f"chromium --screenshot failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return Path(out)


# ------------------------------------------------------- the documentation's fenced blocks
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


# ------------------------------------------------------------------ small data made in memory
#: training options of the CLI that make a model train in a second or two
FAST_CLI = ["--latent", "2", "--hidden", "8", "--epochs", "2", "--quiet"]


def small_table(folder: Path, n: int = 40, name: str = "t.txt", drug_header: str = "3TC",
                positions: int = 10, fold=None) -> Path:
    """An HIVDB-like NRTI table: SeqID, one drug, P1..P<positions>; a mutation at RT 3 in every
    other row raises the fold change."""
    rng = np.random.default_rng(0)
    header = ["SeqID", drug_header] + [f"P{q}" for q in range(1, positions + 1)]
    lines = ["\t".join(header)]
    for i in range(n):
        mutated = i % 2 == 0
        cells = ["-"] * positions
        if mutated:
            cells[2] = "T"
        if i % 3 == 0:
            cells[5] = "K"
        value = fold(i) if fold else (round(float(rng.uniform(5, 50) if mutated else rng.uniform(0.5, 2)), 1))
        lines.append("\t".join([str(1000 + i), str(value)] + cells))
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


#: the drugs of :func:`toy_dataset`
TOY_DRUGS = ["3TC", "ABC", "AZT"]


def toy_dataset(n: int = 120, p: int = 16, seed: int = 0, groups: bool = False,
                missing: bool = True, same_labels: bool = False):
    """A Dataset made in memory: resistance driven by a few features; ABC partly untested;
    optional groups of 3 rows."""
    import pandas as pd

    from hivlatent.data.dataset import Dataset

    rng = np.random.default_rng(seed)
    X = (rng.random((n, p)) < 0.3).astype(np.float32)
    W = np.zeros((p, len(TOY_DRUGS)))
    W[:4] = rng.normal(1.0, 0.3, (4, len(TOY_DRUGS)))
    log_fold = X @ W + rng.normal(0, 0.3, (n, len(TOY_DRUGS))) - 0.3
    if same_labels:
        log_fold[:, 2] = log_fold[:, 0]  # 3TC and AZT share cutoff 3 -> identical labels
    cut = np.log10([3.0, 2.0, 3.0])
    labels = (log_fold >= cut).astype(float)
    if missing:
        untested = rng.random(n) < 0.2
        log_fold[untested, 1] = np.nan
        labels[untested, 1] = np.nan
    return Dataset(
        name="synthetic", drug_class="NRTI", gene="RT", ids=np.arange(1000, 1000 + n),
        X=X, observed=np.ones_like(X, dtype=bool), feature_names=[f"f{i}" for i in range(p)],
        drugs=list(TOY_DRUGS), log_fold=log_fold, labels=labels,
        groups=np.repeat(np.arange(n // 3 + 1), 3)[:n] if groups else None,
        meta=pd.DataFrame({"patient": np.repeat(np.arange(n // 4 + 1), 4)[:n]}),
    )


# ---------------------------------------------------------------------- the training engine
def toy_train_data(n=120, p=12, d=3, seed=0):
    """The engine's input made in memory: n rows, p 0/1 features, d drugs (some untested)."""
    import torch

    from hivlatent.training.engine import TrainData

    rng = np.random.default_rng(seed)
    X = (rng.random((n, p)) < 0.2).astype(np.float32)
    fold = X[:, :d] * 1.5 + rng.normal(0, 0.1, (n, d))
    fold[rng.random((n, d)) < 0.2] = np.nan                      # missing phenotypes
    labels = np.where(np.isnan(fold), np.nan, (fold > 0.7).astype(float))
    return TrainData(torch.tensor(X), None, torch.tensor(fold, dtype=torch.float32),
                     torch.tensor(labels, dtype=torch.float32))


def toy_jobs(seeds, supervised, epochs=4, n=120):
    """One small training job per seed on :func:`toy_train_data`'s rows, uneven like CV folds."""
    from hivlatent.config import ModelConfig, TrainConfig
    from hivlatent.training.engine import Job

    model = ModelConfig(latent=3, hidden=(8,), supervised=supervised)
    rows = np.arange(n)
    out = []
    for s in seeds:
        rng = np.random.default_rng(100 + s)
        perm = rng.permutation(rows)
        n_train = 90 - (s % 3)                                   # uneven training sets (CV-like)
        out.append(Job(model, TrainConfig(epochs=epochs - (s % 2), batch_size=16, seed=s,
                                          sup_weight=2.0 if supervised else 0.0, lr=3e-3),
                       perm[:n_train], perm[n_train:]))
    return out


def diverging(train):
    """``train`` (a TrainConfig) with an absurd learning rate (1e6), past the config's own
    check: a model whose loss explodes, as any numerical accident could make it."""
    object.__setattr__(train, "lr", 1e6)
    return train


def job_variant(job, **changes):
    """``job`` with some of its TrainConfig's fields changed (a diverging job stays one)."""
    from hivlatent.config import TrainConfig
    from hivlatent.training.engine import Job

    fields = {**job.train.__dict__, **changes}
    lr = fields.pop("lr")
    train = TrainConfig(**fields)
    object.__setattr__(train, "lr", lr)
    return Job(job.model, train, job.train_idx, job.val_idx)


# -------------------------------------------------------------------- prediction's stub model
STUB_FEATURES = ["M184V", "M184I", "K65R", "T215F", "T215Y", "T69ins", "D67del"]
STUB_DRUGS = ["3TC", "AZT", "TDF"]
#: log10 fold change = sum of the weights of the features present (per drug)
STUB_WEIGHTS = {
    "M184V": [2.0, -0.2, -0.1],
    "M184I": [2.0, 0.0, 0.0],
    "K65R": [0.5, -0.3, math.log10(1.5)],   # alone: TDF fold exactly at its lower cutoff 1.5
    "T215F": [0.0, 1.0, 0.1],
    "T215Y": [0.0, 1.2, 0.1],
    "T69ins": [1.0, 1.0, 1.0],
    "D67del": [0.0, 0.5, 0.0],
}


class StubModel:
    """Deterministic: the predictive mean is the weight sum, the sd ``sd``."""

    drug_class = "NRTI"
    gene = "RT"

    def __init__(self, sd: float = 0.3, drugs=STUB_DRUGS, weights=STUB_WEIGHTS):
        from hivlatent.data.cutoffs import Cutoffs

        self.drugs = list(drugs)
        self.feature_names = list(weights)
        self.cutoffs = Cutoffs()
        self.fold_cap = {}
        self.statuses = ["ok"]
        self.W = np.array([weights[f] for f in self.feature_names], dtype=np.float64)
        self.sd = sd
        self.calls = []
        self.recalibrations = {}

    def recalibration(self, drug):
        return self.recalibrations.get(drug)

    def predict_distribution(self, X):
        from hivlatent.predictive.distribution import PredictiveDistribution

        self.calls.append(X.copy())
        mu = X.astype(np.float64) @ self.W
        return PredictiveDistribution.for_model(self, mu, np.full_like(mu, self.sd))

    def get_latent_representation(self, X):
        return X[:, :2].astype(np.float64)


# ------------------------------------------------------------ the cache of default models
#: :func:`tiny_default_entry`'s table's drug for each class (the model's class follows from it)
TINY_DRUG = {"NRTI": "3TC", "NNRTI": "EFV"}


def tiny_default_entry(tmp_path: Path, drug_class: str) -> Path:
    """A tiny semi model saved where the default model of ``drug_class`` lives (the folder named
    for the class's real table, which must be on this machine)."""
    from hivlatent import ModelConfig, TrainConfig, VAEModel
    from hivlatent.data import load_dataset, locate_file
    from hivlatent.data.registry import DATASETS
    from hivlatent.bundle import reference_files
    from hivlatent.data.hivdb_tables import sha256_of
    from hivlatent.prediction import defaults
    from hivlatent.prediction.reference import Reference

    table = small_table(tmp_path, name=f"{drug_class}.txt", drug_header=TINY_DRUG[drug_class])
    ds = load_dataset(table)
    model = VAEModel(ModelConfig(latent=2, hidden=(8,), supervised=True, forest=False),
                     TrainConfig(epochs=2, val_fraction=0.2), n_members=1).fit(ds)
    assert model.drug_class == drug_class
    sha = sha256_of(locate_file(DATASETS[defaults.CLASS_DATA[drug_class]].filename))
    folder = defaults.folder_for(drug_class)
    model.save(folder, {"default_model": {"class": drug_class, "table": table.name,
                                          "table_sha256": sha, "seconds": 0.0}},
               extra_files=reference_files(Reference.build(model, ds)))
    return folder
