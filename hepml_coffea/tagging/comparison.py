"""Comparing taggers on labelled samples: the table and ROC curves of the top-tagging comparison.

Every tagger is evaluated on the *same* jets: each plugin builds its own features from the same
files, and :func:`load_labelled_features` selects and shuffles jets identically for every plugin
(same files, same seed), which :func:`evaluate_taggers` verifies through the jet masses.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hepml_coffea import pipeline, runtime
from hepml_coffea.errors import ConfigurationError, LabelledDataError
from hepml_coffea.kinds import describe
from hepml_coffea.plugin import Plugin
from hepml_coffea.registry import get_registry
from hepml_coffea.training.dataset import check_classes, load_labelled_features
from hepml_coffea.training.roc_metrics import classifier_metrics

_TIMING_WARMUP = 256


@dataclass
class TaggerEvaluation:
    """Figures of merit of one tagger output on a labelled sample."""

    plugin: str
    column: str
    auc: float
    #: at a cut of 0.5; None for a score that is not a probability (its range is not [0, 1])
    accuracy: float | None
    inv_eps_b_03: float
    inv_eps_b_05: float
    parameters: int
    jets_per_second: float | None
    n_signal: int
    n_background: int
    scores: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)

    def summary(self) -> dict:
        """The numbers, without the per-jet arrays (for JSON)."""
        record = asdict(self)
        del record["scores"], record["labels"]
        return record


class _Scorer:
    """Dataset rows of a plugin's scores, one column per output (the pipeline, file by file),
    keeping the model's parameter count and its inference rate without the feature building."""

    def __init__(self, plugin: Plugin):
        self.plugin = plugin
        self.parameters = 0
        self.seconds = 0.0
        self.objects = 0

    def __call__(self, prepared: pipeline.Prepared) -> np.ndarray:
        if self.plugin.artifact is not None and prepared.n_objects:
            model = runtime.get_model(self.plugin)
            if not self.objects:  # trace the compiled function outside the timing
                model.predict(pipeline.first_rows(prepared.features, _TIMING_WARMUP))
            started = time.perf_counter()
            raw = model.predict(prepared.features, plugin_name=self.plugin.name)
            self.seconds += time.perf_counter() - started
            self.objects += prepared.n_objects
            self.parameters = model.parameter_count or 0
            return pipeline.output_rows(prepared, raw)
        return pipeline.output_rows(prepared)

    @property
    def rate(self) -> float | None:
        """Objects per second through the model alone; None without a network."""
        return self.objects / self.seconds if self.seconds else None


def evaluate_taggers(
    plugins: Sequence[Plugin],
    signal_files: Sequence[Path],
    background_files: Sequence[Path],
    *,
    signal_label: int = 1,
    max_per_class: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> list[TaggerEvaluation]:
    """Evaluate every output of ``plugins`` on the same signal and background jets."""
    from tqdm.auto import tqdm

    registry = get_registry()
    for plugin in plugins:
        kind = registry.kind_of(plugin)
        if not kind.scores:
            scoring = [name for name, other in registry.kinds.items() if other.scores]
            see = f"; see `hepml-coffea {kind.evaluated_by}`" if kind.evaluated_by else ""
            raise ConfigurationError(
                f"plugin {plugin.name!r} is a {plugin.kind}, and evaluate compares the scores of"
                f" {describe(dict.fromkeys(scoring))} plugins{see}"
            )
    check_classes(signal_files, background_files, max_per_class)  # before the progress bar
    results: list[TaggerEvaluation] = []
    reference_mass = None
    for plugin in tqdm(plugins, desc="evaluating taggers", unit="tagger", disable=not progress):
        scorer = _Scorer(plugin)
        data = load_labelled_features(
            plugin,
            signal_files,
            background_files,
            signal_label=signal_label,
            max_per_class=max_per_class,
            seed=seed,
            rows=scorer,
        )
        if reference_mass is None:
            reference_mass = data.mass
        elif not np.array_equal(reference_mass, data.mass):
            raise LabelledDataError(
                f"plugin {plugin.name!r} saw different jets than {plugins[0].name!r}; the taggers "
                "cannot be compared on these files"
            )
        for index, output in enumerate(plugin.outputs):
            scores = data.features[:, index]
            metrics = classifier_metrics(scores, data.labels)
            results.append(
                TaggerEvaluation(
                    plugin=plugin.name,
                    column=plugin.column_name(output),
                    auc=metrics["auc"],
                    accuracy=metrics["accuracy"] if tuple(output.range) == (0.0, 1.0) else None,
                    inv_eps_b_03=metrics["inv_eps_b_at_eps_s_0.3"],
                    inv_eps_b_05=metrics["inv_eps_b_at_eps_s_0.5"],
                    parameters=scorer.parameters,
                    jets_per_second=scorer.rate,
                    n_signal=metrics["n_signal"],
                    n_background=metrics["n_background"],
                    scores=scores,
                    labels=data.labels,
                )
            )
    return results


def evaluation_table(results: Sequence[TaggerEvaluation]) -> str:
    """Markdown table in the style of 1902.09914, best AUC first."""
    lines = [
        "| tagger | AUC | accuracy | 1/eps_B (eps_S=0.3) | 1/eps_B (eps_S=0.5) | parameters | inference jets/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results, key=lambda r: -r.auc):
        rate = "-" if r.jets_per_second is None else f"{r.jets_per_second:,.0f}"
        params = "-" if r.parameters == 0 else f"{r.parameters:,}"
        accuracy = "-" if r.accuracy is None else f"{r.accuracy:.3f}"
        lines.append(
            f"| {r.column} | {r.auc:.4f} | {accuracy} | {r.inv_eps_b_03:.0f} | "
            f"{r.inv_eps_b_05:.1f} | {params} | {rate} |"
        )
    return "\n".join(lines) + "\n"


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signal efficiency and background rejection 1/eps_B for every cut on ``scores``."""
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    passed_signal = np.cumsum(labels[order]) / labels.sum()
    passed_background = np.cumsum(~labels[order]) / (~labels).sum()
    with np.errstate(divide="ignore"):
        return passed_signal, 1.0 / passed_background


def plot_roc(results: Sequence[TaggerEvaluation], path: Path) -> None:
    """1/eps_B against eps_S on a log scale, the figure of the top-tagging comparison."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    for r in sorted(results, key=lambda r: -r.auc):
        efficiency, rejection = roc_curve(r.scores, r.labels)
        keep = np.isfinite(rejection) & (efficiency >= 0.05)
        ax.plot(efficiency[keep], rejection[keep], label=f"{r.plugin} (AUC {r.auc:.4f})")
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("signal efficiency $\\epsilon_S$ (top jets)")
    ax.set_ylabel("background rejection $1/\\epsilon_B$ (QCD jets)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_score_distributions(results: Sequence[TaggerEvaluation], path: Path) -> None:
    """Normalised score distributions of signal and background, one panel per tagger."""
    from matplotlib.figure import Figure

    columns = min(3, len(results))
    rows = -(-len(results) // columns)
    fig = Figure(figsize=(4 * columns, 3 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax, r in zip(axes.flat, results, strict=False):
        labels = r.labels.astype(bool)
        bins = np.linspace(0, 1, 41)
        ax.hist(r.scores[labels], bins=bins, histtype="step", density=True, label="top")
        ax.hist(r.scores[~labels], bins=bins, histtype="step", density=True, label="QCD")
        ax.set_yscale("log")
        ax.set_title(r.column, fontsize="small")
        ax.legend(fontsize="x-small")
    for ax in list(axes.flat)[len(results) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def write_evaluation(
    results: Sequence[TaggerEvaluation], output_dir: Path, provenance: dict
) -> list[Path]:
    """Write ``evaluation.md``, ``evaluation.json``, ``roc.png`` and ``scores.png``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        output_dir / name for name in ("evaluation.md", "evaluation.json", "roc.png", "scores.png")
    ]
    paths[0].write_text(evaluation_table(results))
    paths[1].write_text(
        json.dumps({"provenance": provenance, "results": [r.summary() for r in results]}, indent=2)
        + "\n"
    )
    plot_roc(results, paths[2])
    plot_score_distributions(results, paths[3])
    return paths
