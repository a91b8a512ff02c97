"""R50 against 1/JSD50 for the plain PFN, DisCo-trained PFNs and an adversarially trained PFN.

Trains the decorrelated variants (plugin ``pfn_md``'s network) on the training samples, runs the
tagging processor with truth labels over the held-out samples, and reads every number from the
accumulated histograms with ``hepml_coffea.decorrelation`` (the path an analysis would take).
Writes docs/decorrelation/ and, with ``--ship LABEL``, copies that variant's artifact to
plugins/artifacts/pfn_md. Usage (the samples come from studies/tagger_zoo.sh)::

    python studies/mass_decorrelation.py                  # train and compare the variants
    python studies/mass_decorrelation.py --reuse --disco-lambdas 2 4 6 10 50 --ship disco_4
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

from hepml_processors import TaggingProcessor
from zoo import ZOO, add_sample_arguments

from hepml_coffea import get_registry
from hepml_coffea.decorrelation import decorrelation_report, report_markdown, select_classes
from hepml_coffea.executors import run_processor
from hepml_coffea.filesets import normalise_fileset
from hepml_coffea.training import load_labelled_features, train_plugin
from hepml_coffea.training.decorrelate import Decorrelation

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_sample_arguments(parser)
    parser.add_argument("--max-per-class", type=int, default=20000)
    parser.add_argument("--disco-lambdas", type=float, nargs="*", default=[2.0, 10.0, 50.0])
    parser.add_argument("--adversary-lambdas", type=float, nargs="*", default=[10.0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--disco-batch-size",
        type=int,
        default=1024,
        help="DisCo batch size: dCor² is estimated over the background jets of each batch",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        help="fine-tune the variants from this artifact (e.g. plugins/artifacts/pfn) instead of training from scratch",
    )
    parser.add_argument(
        "--flatten-mass",
        action="store_true",
        help="weight QCD jets to a flat mass distribution in the decorrelation term (labels get _flat)",
    )
    parser.add_argument("--work-dir", type=Path, default=ZOO / "decorrelation")
    parser.add_argument("--output-dir", type=Path, default=REPO / "docs" / "decorrelation")
    parser.add_argument("--ship", help="variant to copy to plugins/artifacts/pfn_md, e.g. disco_4")
    parser.add_argument(
        "--reuse", action="store_true", help="keep variants already trained in --work-dir"
    )
    parser.add_argument(
        "--extra-plugins",
        nargs="*",
        default=[],
        help="registered plugins to evaluate beside the variants, e.g. pfn_ddt",
    )
    args = parser.parse_args()

    registry = get_registry()
    base = registry.get("pfn_md")
    data = load_labelled_features(
        base, args.signal, args.background, max_per_class=args.max_per_class
    )
    suffix = "_flat" if args.flatten_mass else ""
    variants = {
        f"disco_{lam:g}{suffix}": Decorrelation("disco", lam, flatten_mass=args.flatten_mass)
        for lam in args.disco_lambdas
    }
    variants |= {
        f"adversary_{lam:g}{suffix}": Decorrelation(
            "adversary", lam, flatten_mass=args.flatten_mass
        )
        for lam in args.adversary_lambdas
    }
    # base: the pfn_md artifact shipped now, for comparison
    plugins = [registry.get("pfn"), base, *(registry.get(name) for name in args.extra_plugins)]
    timings = {}
    for label, decorrelation in variants.items():
        directory = args.work_dir / label
        plugins.append(
            dataclasses.replace(base, name=f"pfn_{label.replace('.', 'p')}", artifact=directory)
        )
        if args.reuse and (directory / "model.json").exists():
            continue
        started = time.perf_counter()
        # DisCo estimates dCor² per batch and needs large batches; the adversary needs many steps
        batch_size = args.disco_batch_size if decorrelation.method == "disco" else 256
        train_plugin(
            base,
            data,
            directory,
            epochs=args.epochs,
            batch_size=batch_size,
            patience=6,
            learning_rate=args.learning_rate,
            decorrelation=decorrelation,
            initial_artifact=args.init_from,
            verbose=2,
        )
        timings[label] = time.perf_counter() - started

    fileset = normalise_fileset(
        {"ttbar": [str(f) for f in args.test_signal], "qcd": [str(f) for f in args.test_background]}
    )
    processor_instance = TaggingProcessor(plugins, truth_label="truthLabel", score_bins=1000)
    output = run_processor(processor_instance, fileset, executor="iterative", chunksize=20_000)
    classes = {
        column: select_classes(h, signal_dataset="ttbar", background_dataset="qcd")
        for column, h in output["hists"].items()
    }
    reports = decorrelation_report(classes, args.output_dir)
    record = {
        "command": shlex.join(["python", "studies/mass_decorrelation.py", *sys.argv[1:]]),
        "training_samples": [p.name for p in (*args.signal, *args.background)],
        "test_samples": [f.name for f in (*args.test_signal, *args.test_background)],
        "max_per_class": args.max_per_class,
        "epochs_max": args.epochs,
        "learning_rate": args.learning_rate,
        "disco_batch_size": args.disco_batch_size,
        "initialised_from": None if args.init_from is None else str(args.init_from),
        "training_seconds": timings,
        "reports": [dataclasses.asdict(r) for r in reports],
    }
    (args.output_dir / "decorrelation.json").write_text(json.dumps(record, indent=2) + "\n")
    print(report_markdown(reports))
    if args.ship:
        target = REPO / "plugins" / "artifacts" / "pfn_md"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(args.work_dir / args.ship, target)
        print(f"shipped {args.ship} as {target}")


if __name__ == "__main__":
    main()
