"""Fit pfn_ddt's mass-dependent working point, choose its strength on validation jets, measure it held out.

The plain tagger's scores on *calibration* jets (samples made for this; the tagger never saw
them) fit one mass profile per ``--strengths`` value (hepml_coffea.training.mass_profile). On
the *validation* jets each profile gets its fraction of the decorrelation target
(hepml_coffea.decorrelation.target) against the plain tagger on the same jets,

    min(3 R50 / R50_plain, 1/JSD50 / (10 1/JSD50_plain))      (>= 1: inside the target)

and the best one is measured once on the *held-out* jets, with bootstrap spreads and the
finite-statistics ceiling of 1/JSD50, beside the plain tagger and ``--compare`` artifacts (the
DisCo-trained pfn_md). Working points other than the 50 % the profile is fitted at are
reported too. With ``--ship`` the chosen profile is written, on top of the plain network, to
plugins/artifacts/<plugin>. Usage::

    python studies/select_mass_profile.py --output-dir docs/decorrelation/mass_profile --ship
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from zoo import (
    add_calibration_arguments,
    add_output_arguments,
    add_test_arguments,
    add_validation_arguments,
    replotted,
    study_parser,
)

from hepml_coffea import get_registry
from hepml_coffea.artifacts import sha256_of
from hepml_coffea.decorrelation import (
    bootstrap_std,
    ceiling_curve,
    draw_chosen,
    measure,
    target_fraction,
    target_plane,
    top_window_excess,
    working_points,
)
from hepml_coffea.training import classifier_metrics, load_labelled_features
from hepml_coffea.training.ensemble import predict_artifacts
from hepml_coffea.training.mass_profile import fit_mass_profile, write_mass_profile_artifact

REPO = Path(__file__).resolve().parents[1]
RECORD, FIGURE = "selection.json", "selection.png"
DEFAULT_STRENGTHS = (0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)
OTHER_WORKING_POINTS = (0.3, 0.5, 0.7)
#: [GeV] the top-mass window where a sculpting tagger makes a fake peak of QCD jets
TOP_WINDOW = (160.0, 190.0)


def replot(record: dict, path: Path) -> None:
    plot(record["validation"]["candidates"], record["held_out"], path)


def plot(validation: list[dict], held_out: dict, path: Path) -> None:
    fig, ax = target_plane(held_out["plain"], which=" (held-out)")
    ax.plot(
        [p["r50"] for p in validation],
        [p["inv_jsd50"] for p in validation],
        color="0.6",
        marker=".",
        label="profiles by strength (validation)",
    )
    for name, point in held_out["compared"].items():
        ax.scatter([point["r50"]], [point["inv_jsd50"]], marker="s", label=f"{name} (held-out)")
    draw_chosen(ax, held_out)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main() -> None:
    parser = study_parser(__doc__)
    parser.add_argument(
        "--plugin", default="pfn_ddt", help="the mass-profile plugin to fit and ship"
    )
    parser.add_argument(
        "--base", default="pfn", help="the plain plugin whose shipped network the profile cuts"
    )
    parser.add_argument("--strengths", type=float, nargs="+", default=list(DEFAULT_STRENGTHS))
    parser.add_argument(
        "--compare",
        type=Path,
        nargs="*",
        default=[REPO / "plugins" / "artifacts" / "pfn_md"],
        help="other artifacts of the base network's features to measure on the held-out jets",
    )
    add_calibration_arguments(parser)
    add_validation_arguments(parser)
    add_test_arguments(parser)
    add_output_arguments(parser, REPO / "docs" / "decorrelation" / "mass_profile", RECORD, FIGURE)
    parser.add_argument(
        "--ship", action="store_true", help="write the chosen profile to plugins/artifacts/<plugin>"
    )
    args = parser.parse_args()
    if replotted(args, RECORD, FIGURE, draw=replot):
        return

    registry = get_registry()
    base, plugin = registry.get(args.base), registry.get(args.plugin)

    def plain_scores(signal_files, background_files):
        jets = load_labelled_features(base, signal_files, background_files)
        return predict_artifacts(base, {"plain": base.artifact}, jets.features)["plain"], jets

    calibration_scores, calibration = plain_scores(
        args.calibration_signal, args.calibration_background
    )
    profiles = {
        strength: fit_mass_profile(
            calibration_scores, calibration.labels, calibration.mass, strength=strength
        )
        for strength in args.strengths
    }
    del calibration

    validation_scores, validation = plain_scores(args.validation_signal, args.validation_background)
    plain = measure(validation_scores, validation.labels, validation.mass)
    points = []
    for strength, profile in profiles.items():
        shifted = profile.shifted_scores(validation_scores, validation.mass)
        point = {"strength": strength, **measure(shifted, validation.labels, validation.mass)}
        point["target_fraction"] = target_fraction(point, plain)
        points.append(point)
        print(
            f"validation, strength {strength:g}: R50 {point['r50']:.1f}, 1/JSD50 {point['inv_jsd50']:.1f}, "
            f"fraction {point['target_fraction']:.3f}",
            flush=True,
        )
    best = max(points, key=lambda p: p["target_fraction"])
    profile = profiles[best["strength"]]
    validation_jets = {
        "signal": int(validation.labels.sum()),
        "background": int((validation.labels == 0).sum()),
    }
    del validation

    held_out = load_labelled_features(base, args.test_signal, args.test_background)
    labels, mass = held_out.labels, held_out.mass
    compared = {d.name: d for d in args.compare}
    test_scores = predict_artifacts(base, {"plain": base.artifact, **compared}, held_out.features)
    del held_out
    plain_test = test_scores.pop("plain")
    chosen_scores = profile.shifted_scores(plain_test, mass)
    measured = {
        "plain": measure(plain_test, labels, mass),
        "chosen": measure(chosen_scores, labels, mass),
    }
    measured["chosen"]["target_fraction"] = target_fraction(measured["chosen"], measured["plain"])
    measured["compared"] = {name: measure(s, labels, mass) for name, s in test_scores.items()}
    for point in measured["compared"].values():
        point["target_fraction"] = target_fraction(point, measured["plain"])
    measured["bootstrap_std"] = bootstrap_std(
        plain_test, chosen_scores, labels, mass, args.bootstrap
    )
    measured["ceiling_curve"] = ceiling_curve(chosen_scores, labels, mass, measured["plain"]["r50"])
    every_score = {"plain": plain_test, "chosen": chosen_scores, **test_scores}
    measured["working_points"] = {
        name: working_points(s, labels, mass, OTHER_WORKING_POINTS)
        for name, s in every_score.items()
    }
    measured["top_window_excess"] = {
        name: top_window_excess(s, labels, mass, TOP_WINDOW) for name, s in every_score.items()
    }
    measured["n_jets"] = {"signal": int(labels.sum()), "background": int((labels == 0).sum())}

    calibration_samples = [
        {"file": f.name, "sha256": sha256_of(f)}
        for f in (*args.calibration_signal, *args.calibration_background)
    ]
    record = {
        "command": shlex.join(["python", "studies/select_mass_profile.py", *sys.argv[1:]]),
        "calibration_samples": calibration_samples,
        "validation_samples": [
            f.name for f in (*args.validation_signal, *args.validation_background)
        ],
        "test_samples": [f.name for f in (*args.test_signal, *args.test_background)],
        "validation": {
            "plain": plain,
            "n_jets": validation_jets,
            "chosen": best,
            "candidates": points,
        },
        "profile": profile.record(),
        "held_out": measured,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / RECORD).write_text(json.dumps(record, indent=2) + "\n")
    plot(points, measured, args.output_dir / FIGURE)

    chosen, spread, test_plain = measured["chosen"], measured["bootstrap_std"], measured["plain"]
    name = f"{args.base} + mass profile, strength {best['strength']:g}"
    rows = [
        "| jets | tagger | R50 | 1/JSD50 | 1/JSD50 ceiling | fraction of target |",
        "|---|---|---|---|---|---|",
        f"| validation | plain {args.base} | {plain['r50']:.1f} | {plain['inv_jsd50']:.2f} | {plain['inv_jsd50_ceiling']:.0f} | - |",
        f"| validation | {name} | {best['r50']:.1f} | {best['inv_jsd50']:.1f} | {best['inv_jsd50_ceiling']:.0f} | "
        f"{best['target_fraction']:.3f} |",
        f"| held-out | plain {args.base} | {test_plain['r50']:.1f} | {test_plain['inv_jsd50']:.2f} | "
        f"{test_plain['inv_jsd50_ceiling']:.0f} | - |",
        *(
            f"| held-out | {other} | {p['r50']:.1f} | {p['inv_jsd50']:.1f} | {p['inv_jsd50_ceiling']:.0f} | "
            f"{p['target_fraction']:.3f} |"
            for other, p in measured["compared"].items()
        ),
        f"| held-out | **{name}** | **{chosen['r50']:.1f} ± {spread['r50']:.1f}** | "
        f"**{chosen['inv_jsd50']:.1f} ± {spread['inv_jsd50']:.1f}** | {chosen['inv_jsd50_ceiling']:.0f} | "
        f"**{chosen['target_fraction']:.3f} ± {spread['target_fraction']:.3f}** |",
        f"\n± : standard deviation over {args.bootstrap} bootstrap resamplings of the held-out jets "
        "(plain and chosen resampled together).\n",
        "| held-out tagger | "
        + " | ".join(f"R{100 * e:g} | 1/JSD{100 * e:g}" for e in OTHER_WORKING_POINTS)
        + " |",
        "|---|" + "---|---|" * len(OTHER_WORKING_POINTS),
        *(
            f"| {tagger} | "
            + " | ".join(
                f"{wp['rejection']:.1f} | {wp['inv_jsd']:.1f}" for wp in points_of.values()
            )
            + " |"
            for tagger, points_of in measured["working_points"].items()
        ),
        f"\nQCD jets passing the 50 % cut in {TOP_WINDOW[0]:g}-{TOP_WINDOW[1]:g} GeV, relative to all QCD jets: "
        + ", ".join(
            f"{tagger} {excess:.2f}" for tagger, excess in measured["top_window_excess"].items()
        )
        + ".",
    ]
    (args.output_dir / "selection.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))

    if args.ship:
        target = REPO / "plugins" / "artifacts" / args.plugin
        metrics = {
            **classifier_metrics(chosen_scores, labels),
            "evaluated_on": record["test_samples"],
            "r50_hist": chosen["r50"],
            "inv_jsd50": chosen["inv_jsd50"],
            "plain_r50_hist": test_plain["r50"],
            "plain_inv_jsd50": test_plain["inv_jsd50"],
        }
        provenance = {
            "command": record["command"],
            "samples": calibration_samples,
            "selected_on": record["validation_samples"],
            "fit": {
                "decorrelation": {
                    "method": "mass_profile",
                    "strength": best["strength"],
                    "signal_efficiency": profile.signal_efficiency,
                }
            },
        }
        write_mass_profile_artifact(
            plugin, base, profile, target, provenance=provenance, metrics=metrics
        )
        print(f"shipped {name} as {target}")


if __name__ == "__main__":
    main()
