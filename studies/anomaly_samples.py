"""The samples of the anomaly-score study (docs/anomaly.md), generated once through the cache.

    python studies/anomaly_samples.py [--which train|inverse|validation|eval|all] [--print]

Training (QCD only, and tops for the inverse test) and evaluation seeds are disjoint from each
other and from every shipped tagger's training seeds (docs/training.md). The top and QCD
evaluation samples are the slow tests' held-out samples (ttbar seed 201, QCD seed 202), which no
training step reads. ``--print`` prints ``NAME=PATH`` lines for shell use.
"""

from __future__ import annotations

import argparse

from hepml_coffea.samples import cached_sample

#: name -> (process, events, seed)
TRAIN = {"qcd_train": ("qcd", 16000, 1801)}
INVERSE = {"top_train": ("ttbar", 8000, 1802)}
#: W jets for choosing inputs and settings (no training step reads them; the tops of
#: ``top_train`` and the QCD validation split serve the same purpose for top)
VALIDATION = {"w_validation": ("wprime", 3000, 1814)}
EVAL = {
    "qcd_eval": ("qcd", 10000, 202),
    "top_eval": ("ttbar", 6000, 201),
    "w_eval": ("wprime", 6000, 1813),
}
GROUPS = {
    "train": TRAIN,
    "inverse": INVERSE,
    "validation": VALIDATION,
    "eval": EVAL,
    "all": {**TRAIN, **INVERSE, **VALIDATION, **EVAL},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--which", choices=sorted(GROUPS), default="all")
    ap.add_argument("--jobs", type=int, default=2, help="generator worker processes")
    ap.add_argument("--print", action="store_true", help="print NAME=PATH lines")
    args = ap.parse_args()
    for name, (process, events, seed) in GROUPS[args.which].items():
        path = cached_sample(process, events, seed=seed, jobs=args.jobs, progress=False)
        print(f"{name}={path}" if args.print else f"{name}: {path}", flush=True)


if __name__ == "__main__":
    main()
