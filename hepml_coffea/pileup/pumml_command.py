"""``hepml-coffea train --plugin pumml``: the options and the command around
:func:`hepml_coffea.pileup.training.train_pumml`."""

from __future__ import annotations

from pathlib import Path

from hepml_coffea.arguments import local_file
from hepml_coffea.errors import HepmlCoffeaError
from hepml_coffea.pileup.training import DEFAULT_MIXTURE, train_pumml


def _parse_mixture(text: str) -> tuple[tuple[float, int], ...]:
    try:
        pairs = [item.split(":") for item in text.split(",") if item.strip()]
        mixture = tuple((float(mu), int(n)) for mu, n in pairs)
    except ValueError:
        mixture = ()
    if not mixture or any(mu < 0 or n <= 0 for mu, n in mixture):
        raise HepmlCoffeaError(
            f"--mixture {text!r}: give MU:EVENTS pairs separated by commas, e.g. 20:1200,140:1200"
        )
    return mixture


def add_train_arguments(parser) -> None:
    """The ``train`` options of a pileup regression (``--plugin pumml``)."""
    default = ",".join(f"{mu:g}:{n}" for mu, n in DEFAULT_MIXTURE)
    group = parser.add_argument_group("pileup regression (--plugin pumml)")
    group.add_argument(
        "--samples",
        type=local_file,
        nargs="+",
        help="training samples with truth (hepml-coffea generate --pileup MU); default: generate "
        "--mixture with the reserved training seeds",
    )
    group.add_argument(
        "--mixture",
        default=default,
        help="MU:EVENTS pairs of the generated QCD training samples, one seed each",
    )
    group.add_argument("--jobs", type=int, default=1, help="generation jobs per sample")
    group.add_argument("--cache-dir", type=Path, default=None, help="sample cache folder")


def run_training(plugin, args) -> int:
    """``hepml-coffea train --plugin <pileup regression with a network>``."""
    if plugin.name != "pumml":
        raise HepmlCoffeaError(
            f"plugin {plugin.name!r}: `hepml-coffea train` trains the built-in pileup network "
            "pumml only; train this one with the script of the package that provides it"
        )
    if args.signal or args.background:
        raise HepmlCoffeaError(
            f"plugin {plugin.name!r} is a pileup regression: it has no signal or background; "
            "pass --samples files with truth, or nothing to generate the --mixture"
        )
    output = Path(args.output or plugin.artifact)
    result = train_pumml(
        output,
        samples=args.samples,
        mixture=_parse_mixture(args.mixture),
        jobs=args.jobs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        learning_rate=args.learning_rate,
        seed=args.seed,
        cache=args.cache_dir,
    )
    per_mu = result.card.metrics["per_mu"]
    summary = ", ".join(
        f"MU {k[2:]}: mass resolution {v['pumml_mass_resolution']:.1f} (CHS {v['chs_mass_resolution']:.1f})"
        for k, v in per_mu.items()
    )
    print(f"wrote {output} ({result.timings}); held-out jets, GeV: {summary}")
    return 0
