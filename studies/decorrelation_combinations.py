"""Can the trained decorrelated variants be combined into a tagger inside the decorrelation target?

The target (hepml_coffea.decorrelation.target): R50 >= 1/3 of the plain tagger's with
1/JSD50 >= 10x the plain tagger's.

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

import itertools
import json
import shlex
import sys
from pathlib import Path

import numpy as np
from zoo import (
    add_output_arguments,
    add_sample_arguments,
    replotted,
    study_parser,
    variant_directories,
)

from hepml_coffea import get_registry
from hepml_coffea.decorrelation import r50_inv_jsd50, resampled_rows, target_fraction, target_plane
from hepml_coffea.training import load_labelled_features
from hepml_coffea.training.ensemble import predict_artifacts
from hepml_coffea.training.mass_profile import ddt_offsets, ddt_shifted_scores

REPO = Path(__file__).resolve().parents[1]
RECORD, FIGURE = "combinations.json", "combinations.png"
ALPHAS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)


def replot(record: dict, path: Path) -> None:
    plot(record["points"], record["plain"], path)


def plot(points: list[dict], plain: dict, path: Path) -> None:
    fig, ax = target_plane(plain)
    for kind, style in (
        ("ensemble", dict(color="0.6", marker=".", s=6)),
        ("ddt", dict(color="tab:orange", marker="x", s=18)),
        ("single", dict(color="tab:blue", marker="o", s=22)),
    ):
        chosen = [p for p in points if p["kind"] == kind]
        ax.scatter(
            [p["r50"] for p in chosen], [p["inv_jsd50"] for p in chosen], label=kind, **style
        )
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main() -> None:
    parser = study_parser(__doc__, variants=True)
    parser.add_argument(
        "--plain",
        type=Path,
        default=REPO / "plugins" / "artifacts" / "pfn",
        help="the plain tagger's artifact",
    )
    add_sample_arguments(parser)
    parser.add_argument("--max-members", type=int, default=3, help="largest ensemble tried")
    add_output_arguments(parser, REPO / "docs" / "decorrelation" / "combinations", RECORD, FIGURE)
    args = parser.parse_args()
    if replotted(args, RECORD, FIGURE, draw=replot):
        return

    variants = variant_directories(parser, args)
    base = get_registry().get("pfn_md")
    training = load_labelled_features(base, args.signal, args.background, max_per_class=38000)
    test = load_labelled_features(base, args.test_signal, args.test_background)
    train_scores = predict_artifacts(base, variants, training.features)
    test_scores = predict_artifacts(base, {"plain": args.plain, **variants}, test.features)

    def point(kind: str, label: str, scores: np.ndarray) -> dict:
        r, j = r50_inv_jsd50(scores, test.labels, test.mass)
        return {"kind": kind, "label": label, "r50": r, "inv_jsd50": j, "scores": scores}

    plain = point("plain", "plain", test_scores.pop("plain"))
    del plain["scores"]
    points = [point("single", label, s) for label, s in test_scores.items()]
    for members in range(2, args.max_members + 1):
        for combination in itertools.combinations(variants, members):
            points.append(
                point(
                    "ensemble",
                    " + ".join(combination),
                    np.mean([test_scores[label] for label in combination], axis=0),
                )
            )
    for label in variants:
        offsets = ddt_offsets(train_scores[label], training.labels, training.mass)
        points += [
            point(
                "ddt",
                f"{label}, alpha {alpha:g}",
                ddt_shifted_scores(test_scores[label], test.mass, offsets, alpha),
            )
            for alpha in ALPHAS
        ]
    for p in points:
        p["target_fraction"] = target_fraction(p, plain)

    rng = np.random.default_rng(0)
    closest = {
        kind: max((p for p in points if p["kind"] == kind), key=lambda p: p["target_fraction"])
        for kind in ("single", "ensemble", "ddt")
    }
    for p in closest.values():
        resampled = [
            r50_inv_jsd50(p["scores"][rows], test.labels[rows], test.mass[rows])
            for rows in resampled_rows(len(test.labels), args.bootstrap, rng)
        ]
        p["bootstrap_std"] = dict(
            zip(("r50", "inv_jsd50"), np.std(resampled, axis=0).tolist(), strict=False)
        )
    for p in points:
        del p["scores"]

    args.output_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "command": shlex.join(["python", "studies/decorrelation_combinations.py", *sys.argv[1:]]),
        "test_samples": [f.name for f in (*args.test_signal, *args.test_background)],
        "plain": plain,
        "points": points,
    }
    (args.output_dir / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    plot(points, plain, args.output_dir / FIGURE)
    rows = [
        "| kind | closest to the target | R50 | 1/JSD50 | fraction of target |",
        "|---|---|---|---|---|",
        f"| plain | pfn | {plain['r50']:.1f} | {plain['inv_jsd50']:.1f} | - |",
    ]
    for kind, p in closest.items():
        spread = p["bootstrap_std"]
        rows.append(
            f"| {kind} | {p['label']} | {p['r50']:.1f} ± {spread['r50']:.1f} | "
            f"{p['inv_jsd50']:.1f} ± {spread['inv_jsd50']:.1f} | {p['target_fraction']:.3f} |"
        )
    rows.append(
        f"\n± : standard deviation over {args.bootstrap} bootstrap resamplings of the held-out jets."
    )
    (args.output_dir / "combinations.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
