"""Fit ``jet_density``: a Gaussian mixture density of QCD jet shapes (hepml_coffea.anomaly.density).

    python studies/anomaly_density.py [--train qcd_train|top_train] [--output DIR]

Fitted on the QCD training sample of ``jet_autoencoder`` (studies/anomaly_samples.py), no signal
and no evaluation jet; the mixture size is chosen by the QCD validation split's likelihood.
``--train top_train`` fits the same density on top jets only: the inverse test's artifact.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from anomaly_samples import INVERSE, TRAIN

from hepml_coffea import get_registry
from hepml_coffea.anomaly.density import write_density_artifact
from hepml_coffea.samples import cached_sample

#: the truth label each training sample's jets are taken with (top_train: the top jets only)
LABELS = {"qcd_train": None, "top_train": 1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    plugin = get_registry().get("jet_density")
    ap.add_argument("--output", type=Path, default=plugin.artifact)
    ap.add_argument("--train", default="qcd_train", choices=sorted({**TRAIN, **INVERSE}))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    process, events, seed = {**TRAIN, **INVERSE}[args.train]
    sample = cached_sample(process, events, seed=seed, jobs=2)
    card = write_density_artifact(
        plugin, [sample], args.output, label=LABELS[args.train], seed=args.seed
    )
    fit = card.provenance["fit"]
    print(
        f"wrote {args.output}: {fit['components']} components, validation NLL {fit['validation_nll']}"
    )


if __name__ == "__main__":
    main()
