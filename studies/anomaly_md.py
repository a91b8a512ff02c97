"""Fit ``jet_autoencoder_md``: the shipped ``jet_autoencoder`` with a QCD-only mass profile.

    python studies/anomaly_md.py [--output plugins/artifacts/jet_autoencoder_md]

The profile is fitted on the QCD training sample of ``jet_autoencoder`` (studies/anomaly_samples.py),
no signal and no evaluation jet.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from anomaly_samples import INVERSE, TRAIN

from hepml_coffea import get_registry
from hepml_coffea.anomaly.profile import write_profiled_artifact
from hepml_coffea.samples import cached_sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    registry = get_registry()
    plugin = registry.get("jet_autoencoder_md")
    ap.add_argument("--output", type=Path, default=plugin.artifact)
    ap.add_argument("--base", type=Path, help="base jet_autoencoder artifact (default: shipped)")
    ap.add_argument(
        "--train",
        default="qcd_train",
        choices=sorted({**TRAIN, **INVERSE}),
        help="sample to fit on (top_train: the inverse test, its top jets only)",
    )
    args = ap.parse_args()
    process, events, seed = {**TRAIN, **INVERSE}[args.train]
    base = registry.get("jet_autoencoder")
    if args.base is not None:
        import dataclasses

        base = dataclasses.replace(base, artifact=args.base)
    sample = cached_sample(process, events, seed=seed, jobs=2)
    card = write_profiled_artifact(plugin, base, [sample], args.output)
    print(
        f"wrote {args.output}: {card.provenance['mass_profile' if False else 'fit']['mass_profile']}"
    )


if __name__ == "__main__":
    main()
