"""Choose the mass-decorrelated tagger to ship (pfn_md) on validation jets; measure it on held-out jets.

The candidates are the decorrelated variants given (artifact directories of ``--plugin``'s
network, e.g. trained by studies/mass_decorrelation.py) alone, and the average score of every pair (or set
of up to ``--max-members``) of them. On the *validation* samples each candidate gets its
fraction of the decorrelation target
(hepml_coffea.decorrelation.target), relative to the plain tagger measured on the same jets:

    min(3 R50 / R50_plain, 1/JSD50 / (10 1/JSD50_plain))      (>= 1: inside the target)

The best candidate is then measured once on the *held-out* samples, with bootstrap spreads and
the finite-statistics ceiling of 1/JSD50 (hepml_coffea.decorrelation.inv_jsd_ceiling), so the
number quoted is not the maximum of many noisy ones. With ``--ship`` it is written to
plugins/artifacts/<plugin> (an ensemble as one Keras model averaging its members). Usage::

    python studies/select_decorrelated.py ~/.cache/hepml-coffea/zoo/decorrelation_finetune/disco_* \\
        --output-dir docs/decorrelation/shipped --ship
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import numpy as np
from zoo import (
    add_output_arguments,
    add_sample_arguments,
    add_validation_arguments,
    replotted,
    study_parser,
    variant_directories,
)

from hepml_coffea import get_registry
from hepml_coffea.decorrelation import (
    bootstrap_std,
    ceiling_curve,
    draw_chosen,
    measure,
    target_fraction,
    target_plane,
)
from hepml_coffea.training import classifier_metrics, load_labelled_features
from hepml_coffea.training.ensemble import average_artifacts, ensemble_candidates, predict_artifacts

REPO = Path(__file__).resolve().parents[1]
RECORD, FIGURE = "selection.json", "selection.png"


def replot(record: dict, path: Path) -> None:
    plot(record["validation"]["candidates"], record["held_out"], path)


def plot(validation: list[dict], held_out: dict, path: Path) -> None:
    fig, ax = target_plane(held_out["plain"], which=" (held-out)")
    ax.scatter(
        [p["r50"] for p in validation],
        [p["inv_jsd50"] for p in validation],
        color="0.6",
        marker=".",
        s=8,
        label="candidates (validation)",
    )
    draw_chosen(ax, held_out)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main() -> None:
    parser = study_parser(__doc__, variants=True)
    parser.add_argument(
        "--plugin",
        default="pfn_md",
        help="the mass-decorrelated plugin the variants are artifacts of",
    )
    parser.add_argument(
        "--plain",
        type=Path,
        help="the plain tagger's artifact (default: the plugin's, without _md)",
    )
    add_sample_arguments(parser)
    add_validation_arguments(parser)
    parser.add_argument(
        "--max-members",
        type=int,
        default=2,
        help="largest ensemble tried (each member costs one network evaluation per jet)",
    )
    add_output_arguments(parser, REPO / "docs" / "decorrelation" / "shipped", RECORD, FIGURE)
    parser.add_argument(
        "--ship", action="store_true", help="write the chosen tagger to plugins/artifacts/<plugin>"
    )
    args = parser.parse_args()
    if replotted(args, RECORD, FIGURE, draw=replot):
        return

    variants = variant_directories(parser, args)
    base = get_registry().get(args.plugin)
    plain_name = args.plugin.removesuffix("_md")
    args.plain = args.plain or REPO / "plugins" / "artifacts" / plain_name
    validation = load_labelled_features(base, args.validation_signal, args.validation_background)
    held_out = load_labelled_features(base, args.test_signal, args.test_background)

    scores = predict_artifacts(base, {"plain": args.plain, **variants}, validation.features)
    plain = measure(scores.pop("plain"), validation.labels, validation.mass)
    points = []
    for members, candidate in ensemble_candidates(scores, args.max_members).items():
        point = {"members": list(members), **measure(candidate, validation.labels, validation.mass)}
        point["target_fraction"] = target_fraction(point, plain)
        points.append(point)
    best = max(points, key=lambda p: p["target_fraction"])
    print(
        f"validation: plain R50 {plain['r50']:.1f}, 1/JSD50 {plain['inv_jsd50']:.2f}; best of {len(points)}: "
        f"{' + '.join(best['members'])} R50 {best['r50']:.1f}, 1/JSD50 {best['inv_jsd50']:.1f}, "
        f"fraction {best['target_fraction']:.3f}"
    )

    test_scores = predict_artifacts(
        base, {"plain": args.plain, **{m: variants[m] for m in best["members"]}}, held_out.features
    )
    plain_scores = test_scores.pop("plain")
    chosen_scores = np.mean(list(test_scores.values()), axis=0)
    labels, mass = held_out.labels, held_out.mass
    measured = {
        "plain": measure(plain_scores, labels, mass),
        "chosen": measure(chosen_scores, labels, mass),
    }
    measured["chosen"]["target_fraction"] = target_fraction(measured["chosen"], measured["plain"])
    measured["bootstrap_std"] = bootstrap_std(
        plain_scores, chosen_scores, labels, mass, args.bootstrap
    )
    measured["ceiling_curve"] = ceiling_curve(chosen_scores, labels, mass, measured["plain"]["r50"])
    measured["n_jets"] = {"signal": int(labels.sum()), "background": int((labels == 0).sum())}

    record = {
        "command": shlex.join(["python", "studies/select_decorrelated.py", *sys.argv[1:]]),
        "validation_samples": [
            f.name for f in (*args.validation_signal, *args.validation_background)
        ],
        "test_samples": [f.name for f in (*args.test_signal, *args.test_background)],
        "validation": {
            "plain": plain,
            "n_jets": {
                "signal": int(validation.labels.sum()),
                "background": int((validation.labels == 0).sum()),
            },
            "chosen": best,
            "candidates": points,
        },
        "held_out": measured,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    plot(points, measured, args.output_dir / FIGURE)
    chosen, spread, test_plain = measured["chosen"], measured["bootstrap_std"], measured["plain"]
    rows = [
        "| jets | tagger | R50 | 1/JSD50 | 1/JSD50 ceiling | fraction of target |",
        "|---|---|---|---|---|---|",
        f"| validation | plain {plain_name} | {plain['r50']:.1f} | {plain['inv_jsd50']:.2f} | {plain['inv_jsd50_ceiling']:.0f} | - |",
        f"| validation | {' + '.join(best['members'])} | {best['r50']:.1f} | {best['inv_jsd50']:.1f} | "
        f"{best['inv_jsd50_ceiling']:.0f} | {best['target_fraction']:.3f} |",
        f"| held-out | plain {plain_name} | {test_plain['r50']:.1f} | {test_plain['inv_jsd50']:.2f} | "
        f"{test_plain['inv_jsd50_ceiling']:.0f} | - |",
        f"| held-out | {' + '.join(best['members'])} | {chosen['r50']:.1f} ± {spread['r50']:.1f} | "
        f"{chosen['inv_jsd50']:.1f} ± {spread['inv_jsd50']:.1f} | {chosen['inv_jsd50_ceiling']:.0f} | "
        f"{chosen['target_fraction']:.3f} ± {spread['target_fraction']:.3f} |",
        f"\n± : standard deviation over {args.bootstrap} bootstrap resamplings of the held-out jets "
        "(plain and chosen resampled together).",
    ]
    (args.output_dir / "selection.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))

    if args.ship:
        target = REPO / "plugins" / "artifacts" / args.plugin
        shutil.rmtree(target, ignore_errors=True)
        if len(best["members"]) == 1:
            shutil.copytree(variants[best["members"][0]], target)
        else:
            metrics = {
                **classifier_metrics(chosen_scores, labels),
                "evaluated_on": record["test_samples"],
                "r50_hist": measured["chosen"]["r50"],
                "inv_jsd50": measured["chosen"]["inv_jsd50"],
                "plain_r50_hist": measured["plain"]["r50"],
                "plain_inv_jsd50": measured["plain"]["inv_jsd50"],
            }
            average_artifacts(
                base,
                [variants[m] for m in best["members"]],
                target,
                metrics=metrics,
                provenance={
                    "command": record["command"],
                    "selected_on": record["validation_samples"],
                },
            )
        print(f"shipped {' + '.join(best['members'])} as {target}")


if __name__ == "__main__":
    main()
