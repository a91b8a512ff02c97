"""Can the trained decorrelated variants be combined into a tagger inside the issue #5 target?

Takes the variants trained by studies/mass_decorrelation.py (artifact directories of one
architecture) and measures R50 and 1/JSD50 on the held-out jets for

* every variant alone,
* the average score of every set of 2 to ``--max-members`` variants (an ensemble), and
* every variant with a partial mass-dependent cut (as in DDT): the score's logit is shifted by
  ``alpha`` times the mass-bin offset that would give every 10 GeV mass bin the same QCD
  efficiency. The offsets are measured on the *training* QCD jets; alpha = 1 is a fully flat cut.

Numbers come from the same hist-based functions an analysis uses (60 mass bins, 1000 score
bins). Jets are read as for training (every jet in the files); on the generated samples that is
the processor's selection too, and a variant alone gets the numbers mass_decorrelation.py gave
it. Usage::

    python studies/decorrelation_combinations.py ~/.cache/hepml-coffea/zoo/decorrelation_finetune/disco_* \\
        --output-dir docs/decorrelation/combinations
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import shlex
import sys
from pathlib import Path

import hist
import numpy as np
from matplotlib.figure import Figure

from hepml_coffea import get_registry, runtime
from hepml_coffea.decorrelation import MASS, SCORE, inv_jsd50, r50
from hepml_coffea.plugin import Plugin
from hepml_coffea.training import load_labelled_features
from hepml_coffea.training.mass_profile import logit
from zoo import add_sample_arguments

REPO = Path(__file__).resolve().parents[1]
DDT_MASS_EDGES = np.linspace(0.0, 300.0, 31)
DDT_MIN_JETS = 50  # bins with fewer training QCD jets keep the global cut
ALPHAS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)


def mass_score_hists(scores: np.ndarray, labels: np.ndarray, mass: np.ndarray) -> tuple[hist.Hist, hist.Hist]:
    """Signal and background (mass, score) histograms of ``scores`` in [0, 1], binned as in the study."""
    def filled(selection: np.ndarray) -> hist.Hist:
        h = hist.Hist(hist.axis.Regular(60, 0.0, 300.0, name=MASS), hist.axis.Regular(1000, 0.0, 1.0, name=SCORE))
        return h.fill(**{MASS: mass[selection], SCORE: scores[selection]})

    return filled(labels == 1), filled(labels == 0)


def figures_of_merit(scores: np.ndarray, labels: np.ndarray, mass: np.ndarray) -> tuple[float, float]:
    """(R50, 1/JSD50) of ``scores`` in [0, 1], read from (mass, score) histograms."""
    signal, background = mass_score_hists(scores, labels, mass)
    return r50(signal, background), inv_jsd50(signal, background)


def ddt_offsets(scores: np.ndarray, labels: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Per mass bin: the QCD logit quantile at the 50%-signal cut's QCD efficiency, minus the global one."""
    logits = logit(scores)
    cut = np.quantile(logits[labels == 1], 0.5)
    background, background_mass = logits[labels == 0], mass[labels == 0]
    efficiency = np.mean(background >= cut)
    bins = np.digitize(background_mass, DDT_MASS_EDGES) - 1
    offsets = np.zeros(len(DDT_MASS_EDGES) - 1)
    for index in range(len(offsets)):
        in_bin = background[bins == index]
        if len(in_bin) >= DDT_MIN_JETS:
            offsets[index] = np.quantile(in_bin, 1 - efficiency) - cut
    return offsets


def shifted(scores: np.ndarray, mass: np.ndarray, offsets: np.ndarray, alpha: float) -> np.ndarray:
    bins = np.clip(np.digitize(mass, DDT_MASS_EDGES) - 1, 0, len(offsets) - 1)
    return 1.0 / (1.0 + np.exp(-(logit(scores) - alpha * offsets[bins])))


def predict(base: Plugin, variants: dict[str, Path], features: np.ndarray) -> dict[str, np.ndarray]:
    """Scores of ``base``'s network with each variant's weights."""
    scores = {}
    for index, (label, directory) in enumerate(variants.items()):
        plugin = dataclasses.replace(base, name=f"combination_{index}", artifact=directory)
        scores[label] = np.asarray(runtime.get_model(plugin).predict(features)).reshape(len(features), -1)[:, -1]
    return scores


def target_fraction(point: dict[str, float], plain: dict[str, float]) -> float:
    """How far into the target (R50 >= plain / 3 with 1/JSD50 >= 10 x plain) a point reaches: >= 1 is inside."""
    return min(3 * point["r50"] / plain["r50"], point["inv_jsd50"] / (10 * plain["inv_jsd50"]))


def target_plane(plain: dict[str, float], which: str = ""):
    """A log-log R50 / 1/JSD50 figure with the issue #5 target region and the plain tagger drawn."""
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    ax.fill_between([plain["r50"] / 3, 2 * plain["r50"]], 10 * plain["inv_jsd50"], 1e3, color="tab:green",
                    alpha=0.15, label=f"issue #5 target (vs plain{which})")
    ax.scatter([plain["r50"]], [plain["inv_jsd50"]], color="black", marker="*", s=80, label=f"plain{which}")
    ax.set(xscale="log", yscale="log", xlabel="R50 (1/eps_B at 50% signal efficiency)", ylabel="1/JSD50",
           xlim=(5, 2 * plain["r50"]), ylim=(1, 1e3))
    return fig, ax


def plot(points: list[dict], plain: dict, path: Path) -> None:
    fig, ax = target_plane(plain)
    for kind, style in (("ensemble", dict(color="0.6", marker=".", s=6)), ("ddt", dict(color="tab:orange", marker="x", s=18)),
                        ("single", dict(color="tab:blue", marker="o", s=22))):
        chosen = [p for p in points if p["kind"] == kind]
        ax.scatter([p["r50"] for p in chosen], [p["inv_jsd50"] for p in chosen], label=kind, **style)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", type=Path, nargs="+", help="artifact directories of decorrelated variants")
    parser.add_argument("--plain", type=Path, default=REPO / "plugins" / "artifacts" / "pfn")
    add_sample_arguments(parser)
    parser.add_argument("--max-members", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=20,
                        help="resamplings of the held-out jets for the spread of the closest point of each kind")
    parser.add_argument("--output-dir", type=Path, default=REPO / "docs" / "decorrelation" / "combinations")
    args = parser.parse_args()

    variants = {f"{d.parent.name}/{d.name}": d for d in args.variants}
    base = get_registry().get("pfn_md")
    training = load_labelled_features(base, args.signal, args.background, max_per_class=38000)
    test = load_labelled_features(base, args.test_signal, args.test_background)
    train_scores = predict(base, variants, training.features)
    test_scores = predict(base, {"plain": args.plain, **variants}, test.features)

    def point(kind: str, label: str, scores: np.ndarray) -> dict:
        r, j = figures_of_merit(scores, test.labels, test.mass)
        return {"kind": kind, "label": label, "r50": r, "inv_jsd50": j, "scores": scores}

    plain = point("plain", "plain", test_scores.pop("plain"))
    del plain["scores"]
    points = [point("single", label, s) for label, s in test_scores.items()]
    for members in range(2, args.max_members + 1):
        for combination in itertools.combinations(variants, members):
            points.append(point("ensemble", " + ".join(combination),
                                np.mean([test_scores[label] for label in combination], axis=0)))
    for label in variants:
        offsets = ddt_offsets(train_scores[label], training.labels, training.mass)
        points += [point("ddt", f"{label}, alpha {alpha:g}", shifted(test_scores[label], test.mass, offsets, alpha))
                   for alpha in ALPHAS]
    for p in points:
        p["target_fraction"] = target_fraction(p, plain)

    rng = np.random.default_rng(0)
    closest = {kind: max((p for p in points if p["kind"] == kind), key=lambda p: p["target_fraction"])
               for kind in ("single", "ensemble", "ddt")}
    for p in closest.values():
        resampled = [figures_of_merit(p["scores"][rows], test.labels[rows], test.mass[rows])
                     for rows in (rng.integers(0, len(test.labels), len(test.labels)) for _ in range(args.bootstrap))]
        p["bootstrap_std"] = dict(zip(("r50", "inv_jsd50"), np.std(resampled, axis=0).tolist()))
    for p in points:
        del p["scores"]

    args.output_dir.mkdir(parents=True, exist_ok=True)
    record = {"command": shlex.join(["python", "studies/decorrelation_combinations.py", *sys.argv[1:]]),
              "test_samples": [f.name for f in (*args.test_signal, *args.test_background)], "plain": plain, "points": points}
    (args.output_dir / "combinations.json").write_text(json.dumps(record, indent=2) + "\n")
    plot(points, plain, args.output_dir / "combinations.png")
    rows = ["| kind | closest to the target | R50 | 1/JSD50 | fraction of target |", "|---|---|---|---|---|",
            f"| plain | pfn | {plain['r50']:.1f} | {plain['inv_jsd50']:.1f} | - |"]
    for kind, p in closest.items():
        spread = p["bootstrap_std"]
        rows.append(f"| {kind} | {p['label']} | {p['r50']:.1f} ± {spread['r50']:.1f} | "
                    f"{p['inv_jsd50']:.1f} ± {spread['inv_jsd50']:.1f} | {p['target_fraction']:.3f} |")
    rows.append(f"\n± : standard deviation over {args.bootstrap} bootstrap resamplings of the held-out jets.")
    (args.output_dir / "combinations.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
