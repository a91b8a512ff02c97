"""The inverse test's artifacts: every anomaly score trained on top jets instead of QCD.

    python studies/anomaly_inverse.py [--output-dir ~/.cache/hepml-coffea/anomaly_inverse]

Each score is made exactly as its shipped artifact, but from the top jets (truthLabel 1) of the
``top_train`` sample (studies/anomaly_samples.py): ``jet_autoencoder`` with the training settings
of docs/anomaly.md, ``jet_autoencoder_md`` as the top-trained autoencoder with a mass profile
fitted on those tops, ``jet_density`` as a mixture fitted to them. Prints the ``--inverse``
arguments of ``hepml-coffea evaluate-anomaly`` (PLUGIN=DIR), which scores QCD as the anomaly.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from anomaly_samples import INVERSE

from hepml_coffea import get_registry
from hepml_coffea.anomaly.density import write_density_artifact
from hepml_coffea.anomaly.profile import write_profiled_artifact
from hepml_coffea.samples import cached_sample
from hepml_coffea.training.dataset import load_background_features
from hepml_coffea.training.fit import train_plugin

TOP_LABEL = 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--output-dir", type=Path, default=Path.home() / ".cache/hepml-coffea/anomaly_inverse"
    )
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--patience", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--plugins",
        default="jet_autoencoder,jet_autoencoder_md,jet_density",
        help="comma-separated",
    )
    args = ap.parse_args()
    registry = get_registry()
    process, events, seed = INVERSE["top_train"]
    sample = cached_sample(process, events, seed=seed, jobs=2)
    wanted = [name for name in args.plugins.split(",") if name]
    out = {name: args.output_dir / name for name in wanted}
    if "jet_autoencoder" in wanted:
        plugin = registry.get("jet_autoencoder")
        data = load_background_features(plugin, [sample], label=TOP_LABEL, seed=args.seed)
        train_plugin(
            plugin,
            data,
            out["jet_autoencoder"],
            epochs=args.epochs,
            patience=args.patience,
            seed=args.seed,
            verbose=0,
            provenance={"inverse_test": "trained on top jets; QCD is the anomaly"},
        )
    if "jet_autoencoder_md" in wanted:
        base = dataclasses.replace(
            registry.get("jet_autoencoder"), artifact=args.output_dir / "jet_autoencoder"
        )
        write_profiled_artifact(
            registry.get("jet_autoencoder_md"),
            base,
            [sample],
            out["jet_autoencoder_md"],
            label=TOP_LABEL,
            provenance={"inverse_test": "profile fitted on top jets"},
        )
    if "jet_density" in wanted:
        write_density_artifact(
            registry.get("jet_density"),
            [sample],
            out["jet_density"],
            label=TOP_LABEL,
            seed=args.seed,
            provenance={"inverse_test": "fitted on top jets; QCD is the anomaly"},
        )
    print(" ".join(f"{name}={path}" for name, path in out.items()))


if __name__ == "__main__":
    main()
