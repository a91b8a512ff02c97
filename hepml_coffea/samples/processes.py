"""Pythia 8 settings per physics process.

Each process is a list of ``readString`` lines. The hard-process phase space is tied to the
fat-jet window ``[pt_min, pt_max]`` so that most generated events yield a jet in the window:
the boosted object carries roughly the partonic pT-hat, so pT-hat is generated in
``[PTHAT_LOW * pt_min, PTHAT_HIGH * pt_max]``.
"""

from __future__ import annotations

from collections.abc import Callable

from .generation_errors import SampleConfigError

#: Proton-proton centre-of-mass energy in GeV (LHC Run 2).
SQRT_S_GEV = 13000.0
#: pT-hat window relative to the fat-jet window (radiation moves jets below pT-hat).
PTHAT_LOW = 0.8
PTHAT_HIGH = 1.15
#: W' mass relative to (pt_min + pt_max): the W/Z from W' -> WZ have a Jacobian peak in pT at
#: ~ m(W')/2, so m(W') = 1.1 (pt_min + pt_max) puts the peak just above the window centre.
WPRIME_MASS_FACTOR = 1.1

#: Hadronic decays only: d u s c b (and their antiquarks).
_HADRONIC = "1 2 3 4 5"

_COMMON = [
    f"Beams:eCM = {SQRT_S_GEV}",
    # Silence Pythia: no banner, no init/statistics listings, no event counter.
    "Print:quiet = on",
    "Next:numberCount = 0",
    "Next:numberShowInfo = 0",
    "Next:numberShowProcess = 0",
    "Next:numberShowEvent = 0",
    "Init:showProcesses = off",
    "Init:showChangedSettings = off",
    "Init:showChangedParticleData = off",
    "Random:setSeed = on",
]


def _pthat(pt_min: float, pt_max: float) -> list[str]:
    return [
        f"PhaseSpace:pTHatMin = {PTHAT_LOW * pt_min:.3f}",
        f"PhaseSpace:pTHatMax = {PTHAT_HIGH * pt_max:.3f}",
    ]


def _ttbar(pt_min: float, pt_max: float) -> list[str]:
    return [
        "Top:gg2ttbar = on",
        "Top:qqbar2ttbar = on",
        # all-hadronic: t -> W b, W -> q q'
        "6:onMode = off",
        "6:onIfAll = 24 5",
        "24:onMode = off",
        f"24:onIfAny = {_HADRONIC}",
        *_pthat(pt_min, pt_max),
    ]


def _qcd(pt_min: float, pt_max: float) -> list[str]:
    return ["HardQCD:all = on", *_pthat(pt_min, pt_max)]


def _wprime(pt_min: float, pt_max: float) -> list[str]:
    mass = WPRIME_MASS_FACTOR * (pt_min + pt_max)
    return [
        "NewGaugeBoson:ffbar2Wprime = on",
        f"34:m0 = {mass:.1f}",
        # W' -> W Z needs the (default zero) W'WZ coupling switched on
        "Wprime:coup2WZ = 1.0",
        "34:onMode = off",
        "34:onIfAll = 23 24",
        "24:onMode = off",
        f"24:onIfAny = {_HADRONIC}",
        "23:onMode = off",
        f"23:onIfAny = {_HADRONIC}",
    ]


def _minbias(pt_min: float, pt_max: float) -> list[str]:
    return ["SoftQCD:nonDiffractive = on"]


_PROCESSES: dict[str, Callable[[float, float], list[str]]] = {
    "ttbar": _ttbar,
    "qcd": _qcd,
    "wprime": _wprime,
    "minbias": _minbias,
}

#: Names accepted by ``generate_sample(process=...)`` and ``--process``.
PROCESSES: tuple[str, ...] = tuple(_PROCESSES)


def pythia_settings(process: str, pt_min: float = 500.0, pt_max: float = 700.0) -> list[str]:
    """Pythia ``readString`` lines for ``process`` (without the seed)."""
    if process not in _PROCESSES:
        raise SampleConfigError(
            f"unknown process {process!r}; choose one of: {', '.join(PROCESSES)}"
        )
    return [*_COMMON, *_PROCESSES[process](pt_min, pt_max)]
