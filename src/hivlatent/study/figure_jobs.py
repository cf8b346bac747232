"""The study's figures as jobs for a :class:`~hivlatent.reporting.drawing.FigurePool`: the
loss curves of stage 1 are submitted as soon as stage 1 ends (drawn while stage 2 trains), the
rest when stage 2 ends; the report then waits for their paths."""

from __future__ import annotations

from ..reporting.drawing import FigureJob, FigurePool
from ..reporting.units import loss_unit


class StudyFigures:
    def __init__(self, study, pool: FigurePool) -> None:
        self.study, self.pool = study, pool
        self.captions: dict[str, str] = {}
        self.unit = loss_unit(study.cfg.likelihood, study.ds.n_features)
        self.folder = study.out / "figures"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pending: list[FigureJob] = []

    def _job(self, stem: str, plot: str, caption: str, *args, **kwargs) -> None:
        self.captions[stem] = caption
        self._pending.append(FigureJob(stem, plot, args, kwargs))

    def _submit(self, together: bool) -> None:
        self.pool.submit(self._pending, together=together)
        self._pending = []

    def _history(self, slug: str):
        return self.study.models[slug].history

    def _loss_curves(self, points) -> None:
        for p in points:
            if f"loss_{p.slug}" in self.captions:     # the best configuration is in both stages
                continue
            self._job(f"loss_{p.slug}", "plot_loss_curves", f"Loss per epoch: {p.title}.",
                      self._history(p.slug), p.title, self.unit, components=True)

    def stage1(self, s1) -> None:
        """The loss grid of stage 1 and each configuration's curves, drawn one after another in
        one worker (stage 2 trains meanwhile)."""
        grid = {p.title: self._history(p.slug) for p in {p.slug: p for p in s1}.values()}
        self._job("loss_grid", "plot_loss_grid", "All configurations of stage 1.", grid,
                  self.unit, title="Training (red) and validation (blue) loss")
        self._loss_curves(s1)
        self._submit(together=True)

    def stage2(self, s2, latents: dict) -> None:
        """Stage 2's loss curves and, per latent size whose model answers (``latents``: its
        latent means), the correlation heatmap (and its CSV) and the two latent scatters."""
        from ..reporting.plots import latent_label_correlation  # matplotlib: only now

        ds = self.study.ds
        self._loss_curves(s2)
        for p in s2:
            if p.slug not in latents:
                continue
            z = latents[p.slug]
            corr = latent_label_correlation(z, ds.labels, ds.drugs)
            corr.to_csv(self.folder / f"correlation_{p.slug}.csv")
            self._job(f"heatmap_{p.slug}", "plot_correlation_heatmap",
                      "Pearson (point-biserial) correlation of each latent mean with each drug's "
                      f"label, latent {p.latent}.", corr, p.title)
            for method in ("top2", "pca"):
                what = ("two most resistance-correlated dimensions" if method == "top2"
                        else "first two principal components")
                self._job(f"latent_{method}_{p.slug}", "plot_latent_scatter",
                          f"Latent means per drug ({what}), latent {p.latent}: red not "
                          "resistant, blue resistant.", z, ds.labels, ds.drugs, method=method,
                          model_name="VAE")
        self._submit(together=False)
