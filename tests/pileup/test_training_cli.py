"""`hepml-coffea train` for pileup regressions: what it refuses, in one line each, and the seeds
it trains on."""

from __future__ import annotations

import pytest

from hepml_coffea import cli
from hepml_coffea.pileup.evaluation import EVALUATION_SEED, TRAINING_SEEDS
from hepml_coffea.pileup.training import DEFAULT_MIXTURE


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--plugin", "chs"], "there is nothing to train"),
        (["--plugin", "pumml", "--background", "b.root"], "has no signal or background"),
        (
            ["--plugin", "pumml", "--samples", f"qcd_n100_seed{EVALUATION_SEED}_pu60_x.root"],
            "is an evaluation sample",
        ),
        (["--plugin", "pumml", "--mixture", "20:many"], "give MU:EVENTS pairs"),
        (["--plugin", "pumml", "--samples", "no_such_sample.root"], "no_such_sample.root"),
        (["--plugin", "pfn"], "pass --background NanoAOD files"),
    ],
)
def test_refusals_are_one_line(capsys, argv, message):
    assert cli.main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_the_default_mixture_fits_the_training_seeds():
    assert len(DEFAULT_MIXTURE) <= len(TRAINING_SEEDS)
    assert EVALUATION_SEED not in TRAINING_SEEDS
    mus = {mu for mu, _ in DEFAULT_MIXTURE}
    assert {20.0, 60.0, 140.0} <= mus
