"""The study of ``reference/vae-hiv-report.txt``, reproduced in one call.

Grid (as in the report): epochs {50, 100, 150} x batch size {16, 32, 128} at 128 hidden units
and latent 10; 64 and 256 hidden units at 100 epochs, batch 32; then latent sizes {2, 5, 10, 20}
at the configuration with the lowest final validation loss among the above. Every model of a
stage is trained at once on the batched engine. The run folder holds summary.csv, report.html,
figures/ and one sub-folder per trained model; a rerun skips the models already saved there.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from .. import __version__
from ..config import ModelConfig, Progress, TrainConfig, to_dict
from ..errors import HivLatentError, ModelError
from ..files import RunFolder, write_csv, write_json
from ..model import FitTask, VAEModel, fit_many
from ..reporting.drawing import FigurePool
from ..training.workers import kept_pool, torch_threads
from .figure_jobs import StudyFigures
from .grid import Point, StudyConfig, stage1_points, stage2_points, unique_points


@dataclass
class StudyResult:
    out: Path
    summary: pd.DataFrame
    best: Point
    models: dict[str, VAEModel] = field(repr=False)
    separation: dict[str, pd.DataFrame] = field(repr=False)
    seconds: float = 0.0


class Study:
    """Runs the grid on a Dataset and writes the run folder ``out``."""

    def __init__(self, dataset, out: str | Path, config: StudyConfig | None = None,
                 device: str = "cpu", progress: Progress | None = None,
                 workers: int | None = None, formats: tuple[str, ...] = ("png",)):
        self.ds = dataset
        self.out = Path(out)
        self.cfg = config or StudyConfig()
        self.device = device
        self.workers = workers
        self.progress = progress
        self.models: dict[str, VAEModel] = {}
        self.formats = tuple(formats)

    def figure_workers(self) -> int:
        """Processes drawing the figures: as many as training may use (``workers``)."""
        from ..training.workers import cores

        return cores() if self.workers in (0, None) else max(1, int(self.workers))

    # ------------------------------------------------------------------ training
    def model_for(self, p: Point) -> VAEModel:
        """The (unfitted) model of grid point ``p``."""
        return VAEModel(ModelConfig(latent=p.latent, hidden=(p.hidden,), likelihood=self.cfg.likelihood),
                        TrainConfig(epochs=p.epochs, batch_size=p.batch_size, lr=self.cfg.lr,
                                    val_fraction=self.cfg.val_fraction, seed=self.cfg.seed),
                        n_members=self.cfg.seeds, device=self.device)

    def _folder(self, p: Point) -> Path:
        return self.out / "models" / p.slug

    def _load_done(self, p: Point, model: VAEModel) -> VAEModel | None:
        folder = self._folder(p)
        if not (folder / "config.json").is_file():
            return None
        try:
            saved = VAEModel.load(folder, self.device)
        except HivLatentError:          # damaged (a killed disk, a file edited): trained again,
            shutil.rmtree(folder)       # in the run folder this run holds locked
            return None
        same = (saved.model_config == model.model_config and saved.train_config == model.train_config
                and saved.n_members == model.n_members
                and saved.data_info.get("data_sha256") == getattr(self.ds, "sha256", ""))
        return saved if same else None

    def train(self, points: list[Point], stage: str) -> None:
        """Train the points not already saved in the run folder, all at once; save each."""
        todo = []
        for p in points:
            if p.slug in self.models:
                continue
            model = self.model_for(p)
            done = self._load_done(p, model)
            if done is not None:
                self.models[p.slug] = done
                continue
            todo.append((p, model))
        if not todo:
            return
        fit_many([FitTask(model, self.ds, name=p.slug) for p, model in todo],
                 workers=self.workers, progress=self.progress, description=stage,
                 flush_denormal=True)
        for p, model in todo:
            if _answers(model):              # a model whose every member failed is not saved:
                model.save(self._folder(p), {"study_point": asdict(p)})   # a rerun tries again
            self.models[p.slug] = model

    # ------------------------------------------------------------------ summary
    def summary_rows(self, points: list[Point]) -> list[dict]:
        rows = []
        for p in points:
            model = self.models[p.slug]
            counts = model.parameter_counts()
            histories, statuses, seconds = model.histories, model.statuses, model.train_seconds
            for k, h in enumerate(histories):
                last = h.iloc[-1]
                best_i = int(h["val_loss"].astype(float).idxmin()) if h["val_loss"].notna().any() else len(h) - 1
                rows.append({
                    "configuration": p.slug, "stage": p.stage, "hidden": p.hidden, "latent": p.latent,
                    "epochs": p.epochs, "batch_size": p.batch_size, "likelihood": self.cfg.likelihood,
                    "seed": self.cfg.seed + k, "status": statuses[k],
                    "final_train_loss": float(last["train_loss"]), "final_val_loss": float(last["val_loss"]),
                    "best_train_loss": float(h["train_loss"].min()),
                    "best_val_loss": float(h["val_loss"].min()), "best_epoch": int(h["epoch"].iloc[best_i]),
                    "final_val_recon_per_feature": float(last["val_recon"]) / self.ds.n_features,
                    "train_seconds": float(seconds[k]),
                    "encoder_params": counts["encoder"], "decoder_params": counts["decoder"],
                    "total_params": counts["encoder"] + counts["decoder"],
                })
        return rows

    @staticmethod
    def pick_best(summary: pd.DataFrame, points: list[Point]) -> Point:
        ok = summary[~summary["status"].str.startswith("failed")]
        if ok.empty:
            raise ModelError("every configuration of the study failed; see summary.csv")
        mean = ok.groupby("configuration")["final_val_loss"].mean()
        slug = mean.idxmin()
        return next(p for p in points if p.slug == slug)

    # ------------------------------------------------------------------ run
    def run(self) -> StudyResult:
        """Train, analyse and report, holding the run folder (locked; a resumed run must have
        the same data and grid)."""
        with self.folder():
            return self._run()

    def folder(self) -> RunFolder:
        """The run folder, as this study holds it (``.check()`` checks it without writing)."""
        return RunFolder(self.out, "study", {"data": self.ds.name, "data_sha256": self.ds.sha256,
                                              "config": to_dict(self.cfg)})

    def _run(self) -> StudyResult:
        t0 = time.perf_counter()
        write_json(self.out / "study.json", {
            "hivlatent": __version__, "data": self.ds.name, "data_sha256": self.ds.sha256,
            "rows": self.ds.n_rows, "features": self.ds.n_features, "drugs": self.ds.drugs,
            "config": to_dict(self.cfg), "device": self.device, "torch": torch.__version__})
        with kept_pool():      # stage 1's worker processes train in stage 2 too, warm
            return self._stages(t0)

    def _stages(self, t0: float) -> StudyResult:
        s1 = stage1_points(self.cfg)
        self.train(s1, "stage 1: epochs x batch size, hidden units")
        summary1 = pd.DataFrame(self.summary_rows(s1))
        best = self.pick_best(summary1, s1)
        s2 = stage2_points(self.cfg, best)
        with FigurePool(self.out / "figures", self.formats, self.figure_workers()) as pool:
            figures = StudyFigures(self, pool)
            figures.stage1(s1)                   # drawn while stage 2 trains
            with torch_threads(max(1, torch.get_num_threads() - 1)):
                self.train(s2, f"stage 2: latent sizes at {best.slug}")
            points = unique_points(s1 + s2)
            summary = pd.DataFrame(self.summary_rows(points))
            # stage-2 rows that repeat a stage-1 configuration are listed once, under stage 1
            write_csv(summary, self.out / "summary.csv")
            latents = {p.slug: self.models[p.slug].get_latent_representation(self.ds)
                       for p in s2 if _answers(self.models[p.slug])}
            figures.stage2(s2, latents)          # drawn while the separation is measured
            from ..evaluation.separation import separation_table  # scikit-learn: not needed
                                                                     # before this point
            with threadpool_limits(1):           # BLAS threads would spin against the drawing
                separation = {slug: separation_table(z, self.ds.labels, self.ds.drugs,
                                                     seed=self.cfg.seed)
                              for slug, z in latents.items()}
            result = StudyResult(self.out, summary, best, dict(self.models), separation,
                                 time.perf_counter() - t0)
            from .study_report import write_study_report
            write_study_report(self, result, s1, s2, figures)
        result.seconds = time.perf_counter() - t0      # figures and report included
        return result


def run_study(dataset, out: str | Path, config: StudyConfig | None = None, device: str = "cpu",
              progress: Progress | None = None, workers: int | None = None,
              formats: tuple[str, ...] = ("png",)) -> StudyResult:
    """Run the study on ``dataset`` into the folder ``out`` (resumes a partial run there).
    ``workers``: processes for independent groups of models and for the figures (0 = one per
    core; see :func:`hivlatent.training.workers.n_workers`). ``formats``: of the figures (PNG
    always; add "svg" for vector copies)."""
    return Study(dataset, out, config, device, progress, workers, formats).run()


def check_study_folder(dataset, out: str | Path, config: StudyConfig | None = None) -> None:
    """Check the run folder ``out`` for this study before any work (a one-line ConfigError)."""
    Study(dataset, out, config).folder().check()


def _answers(model: VAEModel) -> bool:
    """Whether at least one member of ``model`` trained without failing."""
    return any(not s.startswith("failed") for s in model.statuses)
