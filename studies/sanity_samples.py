"""Physics sanity of generated samples: masses, substructure separation, constituent sums.

    python studies/sanity_samples.py --outdir sanity_plots [--events 3000] [--jobs 2]

Uses :func:`hepml_coffea.samples.cached_sample` (generated once, then reused). Prints numbers
and saves PNGs: soft-drop mass per truth label, tau32 (top vs QCD), tau21 (W/Z vs QCD),
constituent-sum / jet pT, and the soft-drop mass of top jets with and without pileup.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import awkward as ak
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hepml_coffea.samples import LABEL_TOP, LABEL_W, LABEL_Z, cached_sample  # noqa: E402


def read(path: Path):
    from hepml_coffea.events import open_nanoaod

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return open_nanoaod(path, "eager")


def auc(signal: np.ndarray, background: np.ndarray) -> float:
    """ROC AUC for "signal has larger values" (Mann-Whitney U from ranks, ties averaged)."""
    both = np.concatenate([signal, background])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    ranks[order] = np.arange(1, len(both) + 1)
    # average ranks of ties
    _, inv, counts = np.unique(both, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, ranks)
    ranks = (sums / counts)[inv]
    u = ranks[: len(signal)].sum() - len(signal) * (len(signal) + 1) / 2
    return float(u / (len(signal) * len(background)))


def peak(values: np.ndarray, lo: float, hi: float, width: float = 5.0) -> float:
    """Mode of a histogram in [lo, hi]."""
    h, edges = np.histogram(values, bins=np.arange(lo, hi + width, width))
    i = int(np.argmax(h))
    return float(0.5 * (edges[i] + edges[i + 1]))


def flat(x) -> np.ndarray:
    return ak.to_numpy(ak.flatten(x)).astype(np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--outdir", required=True, type=Path)
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--pileup-events", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)

    kw = dict(seed=args.seed, jobs=args.jobs, progress=True)
    files = {
        "ttbar": cached_sample("ttbar", args.events, **kw),
        "wprime": cached_sample("wprime", args.events, **kw),
        "qcd": cached_sample("qcd", args.events, **kw),
        "ttbar_pu40": cached_sample("ttbar", args.pileup_events, pileup=40.0, **kw),
    }
    ev = {k: read(v) for k, v in files.items()}
    jets = {k: e.FatJet for k, e in ev.items()}
    top = jets["ttbar"][jets["ttbar"].truthLabel == LABEL_TOP]
    wj = jets["wprime"][jets["wprime"].truthLabel == LABEL_W]
    zj = jets["wprime"][jets["wprime"].truthLabel == LABEL_Z]
    qcd = jets["qcd"]
    top_pu = jets["ttbar_pu40"][jets["ttbar_pu40"].truthLabel == LABEL_TOP]

    print("files:")
    for k, v in files.items():
        print(f"  {k:11s} {v}")
    print("fat jets (pT 500-700, |eta|<2) per event and label fractions:")
    for k, j in jets.items():
        lab = flat(j.truthLabel).astype(int)
        frac = np.bincount(lab, minlength=4) / max(len(lab), 1)
        print(
            f"  {k:11s} jets/event {len(lab) / len(j):.2f}  label0..3 {np.round(frac, 3).tolist()}"
        )

    msd = {
        "top (ttbar)": flat(top.msoftdrop),
        "W (wprime)": flat(wj.msoftdrop),
        "Z (wprime)": flat(zj.msoftdrop),
        "QCD": flat(qcd.msoftdrop),
    }
    print("soft-drop mass:")
    for k, v in msd.items():
        lo, hi = (120, 230) if k.startswith("top") else ((50, 120) if k[0] in "WZ" else (0, 300))
        print(
            f"  {k:12s} n={len(v):5d} median {np.median(v):6.1f}  peak in [{lo},{hi}] {peak(v, lo, hi):6.1f} GeV"
        )
    print(
        f"  top with PU40 (no mitigation): median {np.median(flat(top_pu.msoftdrop)):6.1f} GeV, "
        f"ungroomed mass median {np.median(flat(top_pu.mass)):6.1f} vs {np.median(flat(top.mass)):6.1f} (PU0)"
    )

    # NB: the vector behaviour of FatJet defines `.tau2` (proper time squared = mass^2), which
    # shadows the N-subjettiness field: always read it as jets["tau2"].
    tau32_top = flat(top["tau3"] / top["tau2"])
    tau32_qcd = flat(qcd["tau3"] / qcd["tau2"])
    wz = ak.concatenate([wj, zj], axis=1)
    tau21_wz = flat(wz["tau2"] / wz["tau1"])
    tau21_qcd = flat(qcd["tau2"] / qcd["tau1"])
    print("N-subjettiness (AUC of 1 - tau_ratio, signal vs QCD):")
    print(
        f"  tau32 top vs QCD : medians {np.median(tau32_top):.3f} / {np.median(tau32_qcd):.3f}, "
        f"AUC {auc(1 - tau32_top, 1 - tau32_qcd):.3f}"
    )
    print(
        f"  tau21 W/Z vs QCD : medians {np.median(tau21_wz):.3f} / {np.median(tau21_qcd):.3f}, "
        f"AUC {auc(1 - tau21_wz, 1 - tau21_qcd):.3f}"
    )
    win_top = (flat(top.msoftdrop) > 105) & (flat(top.msoftdrop) < 210)
    win_qcd = (flat(qcd.msoftdrop) > 105) & (flat(qcd.msoftdrop) < 210)
    print(f"  tau32 in 105<msd<210: AUC {auc(1 - tau32_top[win_top], 1 - tau32_qcd[win_qcd]):.3f}")

    ratios = {}
    for k, e in ev.items():
        s = e.FatJet.constituents.pf.sum(axis=-1)
        ratios[k] = flat(s.pt / e.FatJet.pt)
    print("constituent 4-vector sum / jet:")
    for k, r in ratios.items():
        print(f"  {k:11s} pT ratio min {r.min():.6f} max {r.max():.6f}")

    # ---- plots
    fig, ax = plt.subplots(figsize=(6, 4.5))
    bins = np.arange(0, 300, 5)
    for k, v in msd.items():
        ax.hist(v, bins=bins, histtype="step", density=True, label=k, linewidth=1.5)
    ax.axvline(173, color="gray", ls=":")
    ax.axvline(80.4, color="gray", ls=":")
    ax.axvline(91.2, color="gray", ls=":")
    ax.set_xlabel("soft-drop mass [GeV]")
    ax.set_ylabel("normalised")
    ax.legend()
    ax.set_title("AK8 jets, 500 < pT < 700 GeV")
    fig.tight_layout()
    fig.savefig(args.outdir / "msoftdrop.png", dpi=110)

    for name, s, b, lab in (
        ("tau32", tau32_top, tau32_qcd, "top"),
        ("tau21", tau21_wz, tau21_qcd, "W/Z"),
    ):
        fig, ax = plt.subplots(figsize=(6, 4.5))
        rb = np.linspace(0, 1.2, 49)
        ax.hist(s, bins=rb, histtype="step", density=True, label=lab, linewidth=1.5)
        ax.hist(b, bins=rb, histtype="step", density=True, label="QCD", linewidth=1.5)
        ax.set_xlabel(rf"$\tau_{{{name[3]}}}/\tau_{{{name[4]}}}$")
        ax.set_ylabel("normalised")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.outdir / f"{name}.png", dpi=110)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.hist(flat(top.msoftdrop), bins=bins, histtype="step", density=True, label="top, PU 0")
    ax.hist(flat(top_pu.msoftdrop), bins=bins, histtype="step", density=True, label="top, PU 40")
    ax.hist(
        flat(top_pu.mass),
        bins=bins,
        histtype="step",
        density=True,
        ls="--",
        label="top, PU 40, ungroomed",
    )
    ax.set_xlabel("mass [GeV]")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.outdir / "msoftdrop_pileup.png", dpi=110)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    allr = np.concatenate(list(ratios.values()))
    ax.hist(allr - 1, bins=np.linspace(-1e-5, 1e-5, 41))
    ax.set_xlabel("sum of constituents pT / jet pT - 1")
    fig.tight_layout()
    fig.savefig(args.outdir / "constituent_sum.png", dpi=110)
    print(f"plots in {args.outdir}")


if __name__ == "__main__":
    main()
