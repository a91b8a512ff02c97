"""``hepml-coffea evaluate-pileup``: bias and resolution of every pileup method against the
pileup-free truth, per mean pileup MU, on freshly generated (cached) evaluation samples.

For each jet, the residual of a quantity x (pT, mass, soft-drop mass) is
``x(method) - x(hard)``, where the hard jet is ``FatJet_hardPt`` / ``hardMass`` /
``hardMsoftdrop`` (the same jet's leading-vertex energy only, see ``docs/samples.md``). The bias
is the median residual, the resolution half the 16-84 % inter-quantile width; the Pearson
correlation of x(method) with x(hard) is reported too. "none" is the jet as clustered.

Seeds: the evaluation samples use :data:`EVALUATION_SEED`; the pileup pool of job ``j`` of a
sample is seeded from ``SeedSequence([seed, j])`` (``hepml_coffea.samples.generate.job_seeds``),
so a pool is never shared with samples of another seed. Training of pileup networks must use
:data:`TRAINING_SEEDS` (tested disjoint, pools included).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

EVALUATION_SEED = 9017
#: seeds reserved for training pileup-regression networks (PUMML): never the evaluation seed
TRAINING_SEEDS = tuple(range(9001, 9011))
DEFAULT_POINTS = ((0.0, 2000), (20.0, 1000), (60.0, 1500), (140.0, 1000))
METHODS = ("none", "chs", "area", "softkiller", "puppi", "pumml")
QUANTITIES = (("pt", "hardPt"), ("mass", "hardMass"), ("msoftdrop", "hardMsoftdrop"))
#: ttbar samples (MU, events) for the top soft-drop-mass peak after each method
DEFAULT_TOP_POINTS = ((0.0, 800), (60.0, 800), (140.0, 800))
TOP_LABEL = 1  # FatJet_truthLabel of a fully contained hadronic top
#: where the top peak is searched (GeV)
TOP_WINDOW = (100.0, 300.0)


@dataclass(frozen=True)
class Summary:
    """Residual statistics of one quantity for one method at one MU."""

    bias: float
    resolution: float
    correlation: float
    n_jets: int


def summarise(values: np.ndarray, truth: np.ndarray) -> Summary:
    """Median and half 16-84 % width of ``values - truth``, Pearson correlation."""
    residual = values - truth
    q16, q50, q84 = np.percentile(residual, [16, 50, 84])
    corr = float(np.corrcoef(values, truth)[0, 1]) if len(values) > 1 else float("nan")
    return Summary(float(q50), float(0.5 * (q84 - q16)), corr, len(values))


def read_events(path: Path):
    from coffea.nanoevents import NanoEventsFactory, PFNanoAODSchema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return NanoEventsFactory.from_root(
            {str(path): "Events"}, schemaclass=PFNanoAODSchema, mode="eager"
        ).events()


def method_values(path: Path, methods: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
    """Per method (and "hard"), pt / mass / msoftdrop of every jet of the file."""
    import hepml_coffea

    events = read_events(path)
    plugins = [m for m in methods if m != "none"]
    events = hepml_coffea.attach(events, plugins)
    jets = events.FatJet

    def flat(field: str) -> np.ndarray:
        return ak.to_numpy(ak.flatten(jets[field], axis=1)).astype(np.float64)

    out = {"hard": {q: flat(h) for q, h in QUANTITIES}}
    for method in methods:
        out[method] = {q: flat(q if method == "none" else f"{method}_{q}") for q, _ in QUANTITIES}
    return out


def evaluate_points(
    points: tuple[tuple[float, int], ...],
    process: str,
    seed: int,
    methods: tuple[str, ...],
    cache: Path | None,
) -> tuple[dict, dict]:
    """(summaries[mu][method][quantity], raw values[mu]) on cached evaluation samples."""
    from hepml_coffea.samples import cached_sample

    summaries, raw = {}, {}
    for mu, n_events in points:
        path = cached_sample(process, n_events, seed=seed, pileup=mu, directory=cache)
        values = method_values(path, methods)
        raw[mu] = values
        summaries[mu] = {
            m: {q: summarise(values[m][q], values["hard"][q]) for q, _ in QUANTITIES}
            for m in methods
        }
    return summaries, raw


def top_peak(msoftdrop: np.ndarray, width: float = 15.0) -> float:
    """The top soft-drop-mass peak (GeV): the maximum of a 4 GeV histogram smoothed over three
    bins in :data:`TOP_WINDOW`, refined by the mean of the masses within ``width`` of it (twice).
    NaN without jets in the window."""
    x = np.asarray(msoftdrop, np.float64)
    x = x[(x > TOP_WINDOW[0]) & (x < TOP_WINDOW[1])]
    if len(x) == 0:
        return float("nan")
    counts, edges = np.histogram(x, np.arange(TOP_WINDOW[0], TOP_WINDOW[1] + 4.0, 4.0))
    smooth = np.convolve(counts, np.ones(3) / 3, mode="same")
    peak = 0.5 * (edges[:-1] + edges[1:])[int(np.argmax(smooth))]
    for _ in range(2):
        near = x[np.abs(x - peak) < width]
        peak = float(near.mean()) if len(near) else peak
    return float(peak)


def top_peaks(
    points: tuple[tuple[float, int], ...], seed: int, methods: tuple[str, ...], cache: Path | None
) -> dict[float, dict[str, tuple[float, int]]]:
    """Per MU, per method (and "hard", the pileup-free jets): (top msoftdrop peak, top jets), on
    cached ttbar samples; top jets are those with ``FatJet_truthLabel ==`` :data:`TOP_LABEL`."""
    import hepml_coffea
    from hepml_coffea.samples import cached_sample

    out = {}
    for mu, n_events in points:
        path = cached_sample("ttbar", n_events, seed=seed, pileup=mu, directory=cache)
        events = hepml_coffea.attach(read_events(path), [m for m in methods if m != "none"])
        jets = events.FatJet[events.FatJet["truthLabel"] == TOP_LABEL]

        def flat(field: str, jets=jets) -> np.ndarray:
            return ak.to_numpy(ak.flatten(jets[field], axis=1)).astype(np.float64)

        fields = {"hard": "hardMsoftdrop", "none": "msoftdrop"}
        fields |= {m: f"{m}_msoftdrop" for m in methods if m != "none"}
        out[mu] = {m: (top_peak(flat(f)), len(flat(f))) for m, f in fields.items()}
    return out


def top_table(peaks: dict, points, methods) -> str:
    """Markdown: the top msoftdrop peak per method and MU, and its shift from the pileup-free peak."""
    header = "| MU | top jets | pileup-free | " + " | ".join(methods) + " |"
    lines = [header, "|" + "---|" * (3 + len(methods))]
    for mu, _ in points:
        row = peaks[mu]
        hard = row["hard"][0]
        cells = [f"{row[m][0]:.1f} ({row[m][0] - hard:+.1f})" for m in methods]
        lines.append(f"| {mu:g} | {row['hard'][1]} | {hard:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(summaries: dict, points, methods) -> str:
    lines = [
        "| MU | events | jets | method | pT bias | pT resolution | mass bias | mass resolution "
        "| msd bias | msd resolution | corr pT / mass / msd |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mu, n_events in points:
        for m in methods:
            s = summaries[mu][m]
            lines.append(
                f"| {mu:g} | {n_events} | {s['pt'].n_jets} | {m} "
                f"| {s['pt'].bias:+.1f} | {s['pt'].resolution:.1f} "
                f"| {s['mass'].bias:+.1f} | {s['mass'].resolution:.1f} "
                f"| {s['msoftdrop'].bias:+.1f} | {s['msoftdrop'].resolution:.1f} "
                f"| {s['pt'].correlation:.3f} / {s['mass'].correlation:.3f} / "
                f"{s['msoftdrop'].correlation:.3f} |"
            )
    return "\n".join(lines)


def plot(summaries: dict, raw: dict, methods, outdir: Path) -> list[Path]:
    """Resolution against MU (three quantities) and the mass residuals at the highest MU."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep as hep

    plt.style.use(hep.style.CMS)
    outdir.mkdir(parents=True, exist_ok=True)
    mus = sorted(summaries)
    fig, axes = plt.subplots(1, 3, figsize=(24, 7.5))
    for ax, (q, _) in zip(axes, QUANTITIES, strict=True):
        for m in methods:
            ax.plot(mus, [summaries[mu][m][q].resolution for mu in mus], "o-", label=m)
        ax.set_xlabel("mean pileup MU")
        ax.set_ylabel(f"{q} resolution (half 16-84 % width) [GeV]")
        ax.legend()
    hep.label.exp_text("hepml-coffea", "Pythia8 QCD, anti-kT R=0.8", ax=axes[0], loc=0)
    fig.tight_layout()
    resolution = outdir / "resolution_vs_mu.png"
    fig.savefig(resolution, dpi=80)
    plt.close(fig)

    top = mus[-1]
    fig, ax = plt.subplots(figsize=(10, 8))
    bins = np.linspace(-80, 320, 81)  # the last bin holds the overflow
    for m in methods:
        residual = raw[top][m]["mass"] - raw[top]["hard"]["mass"]
        hist, edges = np.histogram(np.clip(residual, bins[0], bins[-1]), bins)
        hep.histplot(hist, edges, ax=ax, label=m)
    ax.set_xlabel(f"jet mass - pileup-free jet mass [GeV], MU {top:g}")
    ax.set_ylabel("jets")
    ax.legend()
    residuals = outdir / f"mass_residual_mu{top:g}.png"
    fig.savefig(residuals, dpi=80)
    plt.close(fig)
    return [resolution, residuals]
