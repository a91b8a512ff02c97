"""``hepml-coffea evaluate-anomaly``: anomaly scores against the soft-drop mass alone.

On held-out samples, for top (ttbar, truthLabel 1) and W (W', truthLabel 2) jets against QCD and
for every score: AUC and 1/eps_B at eps_S = 0.3 over all jets and inside the signal's mass
window, 1/JSD50 of the QCD mass (:mod:`hepml_coffea.decorrelation`), and the inverse test (a
score trained on top jets, QCD as the anomaly). Writes ``metrics.json``, ``table.md``, ROC and
sculpting plots.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

SIGNAL_EFFICIENCY = 0.3
#: signal name -> (truth label, mass window in GeV)
SIGNALS = {"top": (1, (150.0, 200.0)), "W": (2, (65.0, 105.0))}
MSOFTDROP = "msoftdrop"


@dataclasses.dataclass
class Scored:
    """Scores of one sample's jets under every score, and their soft-drop masses."""

    scores: dict[str, np.ndarray]
    mass: np.ndarray


def score_sample(plugins, path: Path, label: int | None) -> Scored:
    """Every plugin's score (and ``msoftdrop``) on the jets of ``path`` with truth label ``label``."""
    from hepml_coffea.pipeline import output_rows
    from hepml_coffea.training.dataset import load_background_features

    scores, mass = {}, None
    for plugin in plugins:  # the card policy (no signal seen) is checked as the model loads
        data = load_background_features(plugin, [path], label=label, rows=output_rows)
        own = plugin.outputs_on(plugin.collection)
        for index, output in enumerate(own):  # a score of several outputs: one per column
            scores[plugin.name if len(own) == 1 else plugin.column_name(output)] = data.features[
                :, index
            ]
        mass = data.mass
    scores[MSOFTDROP] = mass
    return Scored(scores, mass)


def _unit_interval(signal: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays mapped by one monotone rank transform into [0, 1], as the decorrelation
    histograms need; every cut, ROC and JSD at fixed efficiency is unchanged."""
    both = np.sort(np.concatenate([signal, background]))

    def rank(x):
        return np.searchsorted(both, x, side="right") / len(both)

    return rank(signal), rank(background)


def compare(signal: np.ndarray, background: np.ndarray, s_mass, b_mass, window) -> dict[str, float]:
    """AUC, 1/eps_B(0.3) overall and in ``window``, and 1/JSD50 of the background mass."""
    from hepml_coffea.decorrelation.histograms import mass_score_hists
    from hepml_coffea.decorrelation.metrics import inv_jsd50
    from hepml_coffea.training.roc_metrics import background_rejection, roc_auc

    def pair(s, b):
        return np.concatenate([s, b]), np.concatenate([np.ones(len(s)), np.zeros(len(b))])

    scores, labels = pair(signal, background)
    s_in = (s_mass >= window[0]) & (s_mass < window[1])
    b_in = (b_mass >= window[0]) & (b_mass < window[1])
    w_scores, w_labels = pair(signal[s_in], background[b_in])
    unit_s, unit_b = _unit_interval(signal, background)
    hists = mass_score_hists(*pair(unit_s, unit_b), np.concatenate([s_mass, b_mass]))
    return {
        "auc": roc_auc(scores, labels),
        "inv_eps_b_0.3": background_rejection(scores, labels, SIGNAL_EFFICIENCY),
        "window_auc": roc_auc(w_scores, w_labels),
        "window_inv_eps_b_0.3": background_rejection(w_scores, w_labels, SIGNAL_EFFICIENCY),
        "inv_jsd50": inv_jsd50(*hists),
        "n_signal": int(len(signal)),
        "n_background": int(len(background)),
        "window_n_signal": int(s_in.sum()),
        "window_n_background": int(b_in.sum()),
    }


def evaluate(plugins, qcd: Path, signals: dict[str, Path], inverse=None, inverse_top=None) -> dict:
    """The metrics of every score; ``inverse`` are plugins (trained on tops) scored with QCD as
    the anomaly on ``qcd`` against the top jets of ``signals['top']``."""
    background = score_sample(plugins, qcd, None)
    results: dict = {"signals": {}, "inverse": {}, "arrays": {}}
    for name, path in signals.items():
        label, window = SIGNALS[name]
        signal = score_sample(plugins, path, label)
        results["arrays"][name] = {
            score: (signal.scores[score], background.scores[score], signal.mass, background.mass)
            for score in signal.scores
        }
        results["signals"][name] = {
            score: compare(
                signal.scores[score], background.scores[score], signal.mass, background.mass, window
            )
            for score in signal.scores
        }
    if inverse:
        from hepml_coffea.training.roc_metrics import roc_auc

        tops = score_sample(inverse, signals["top"], SIGNALS["top"][0])
        inverse_qcd = score_sample(inverse, qcd, None)
        for score in tops.scores:
            labels = np.r_[
                np.ones(len(inverse_qcd.scores[score])), np.zeros(len(tops.scores[score]))
            ]
            results["inverse"][score] = roc_auc(
                np.r_[inverse_qcd.scores[score], tops.scores[score]], labels
            )
    return results


def table(results: dict) -> str:
    rows = [
        "| signal | score | AUC | 1/eps_B(0.3) | window AUC | window 1/eps_B(0.3) | 1/JSD50 (QCD mass) | inverse AUC (QCD vs top, trained on top) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for signal, per_score in results["signals"].items():
        for score, m in per_score.items():
            inverse = results["inverse"].get(score)
            rows.append(
                f"| {signal} | {score} | {m['auc']:.3f} | {m['inv_eps_b_0.3']:.1f} | {m['window_auc']:.3f} | "
                f"{m['window_inv_eps_b_0.3']:.1f} | {m['inv_jsd50']:.1f} | "
                f"{'' if inverse is None else f'{inverse:.3f}'} |"
            )
    return "\n".join(rows) + "\n"


def plots(results: dict, output_dir: Path) -> list[Path]:
    """``roc_<signal>.png`` (1/eps_B against eps_S, every score) and ``sculpting_<signal>_<score>.png``
    (the QCD mass after cuts at several signal efficiencies), in mplhep's CMS style."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    from hepml_coffea.decorrelation.histograms import mass_score_hists
    from hepml_coffea.decorrelation.plots import sculpting_plot
    from hepml_coffea.tagging.comparison import roc_curve

    mplhep.style.use("CMS")
    written = []
    for signal, per_score in results["arrays"].items():
        fig, ax = plt.subplots(figsize=(9, 8))
        for score, (s, b, _, _) in per_score.items():
            labels = np.r_[np.ones(len(s)), np.zeros(len(b))]
            efficiency, rejection = roc_curve(np.r_[s, b], labels)
            keep = np.isfinite(rejection) & (efficiency >= 0.02)
            auc = results["signals"][signal][score]["auc"]
            ax.plot(efficiency[keep], rejection[keep], label=f"{score} (AUC {auc:.3f})")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_xlabel(rf"signal efficiency $\epsilon_S$ ({signal} jets)")
        ax.set_ylabel(r"QCD rejection $1/\epsilon_B$")
        ax.legend(fontsize="small")
        written.append(output_dir / f"roc_{signal}.png")
        fig.savefig(written[-1], dpi=80, bbox_inches="tight")
        plt.close(fig)
        for score, (s, b, s_mass, b_mass) in per_score.items():
            unit_s, unit_b = _unit_interval(s, b)
            hists = mass_score_hists(
                np.r_[unit_s, unit_b],
                np.r_[np.ones(len(s)), np.zeros(len(b))],
                np.r_[s_mass, b_mass],
            )
            fig, ax = plt.subplots(figsize=(9, 8))
            sculpting_plot(*hists, ax=ax)
            ax.set_title(f"{score}: QCD mass after cuts at {signal} efficiencies", fontsize="small")
            written.append(output_dir / f"sculpting_{signal}_{score}.png")
            fig.savefig(written[-1], dpi=80, bbox_inches="tight")
            plt.close(fig)
    return written
