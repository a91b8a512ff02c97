"""Write PFNano-like NanoAOD ``Events`` TTrees with uproot (``mktree`` + chunked ``extend``).

Collections are passed to uproot as ``ak.zip`` jagged records, which creates the ``nX`` counter
and ``X_field`` branches NanoAOD readers expect. (``file["Events"] = {...}`` would write an
RNTuple, which coffea's NanoEvents cannot cross-link, so it is not used.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from .background import EventPileupInputs
from .detector import CandidateArrays
from .fatjets import FatJets
from .pythia_events import GenPartArrays, pt_eta_phi

#: version of the file layout; part of cached file names (2: the pileup branches)
FORMAT_VERSION = 2

COLLECTIONS: dict[str, tuple[str, ...]] = {
    "FatJet": (
        "pt",
        "eta",
        "phi",
        "mass",
        "msoftdrop",
        "tau1",
        "tau2",
        "tau3",
        "tau4",
        "nConstituents",
        "truthLabel",
        "truthPt",
        "truthMass",
        "hardPt",
        "hardMass",
        "hardMsoftdrop",
        "area",
        "areaMass",
    ),
    "PFCands": ("pt", "eta", "phi", "mass", "charge", "pdgId", "fromPV", "fromLV", "lvFraction"),
    "FatJetPFCands": ("jetIdx", "pFCandsIdx"),
    "GenPart": ("pt", "eta", "phi", "mass", "pdgId", "status", "statusFlags", "genPartIdxMother"),
}
SCALARS: tuple[str, ...] = (
    "run",
    "luminosityBlock",
    "event",
    "genWeight",
    "fixedGridRhoFastjetAll",
    "fixedGridRhoFastjetCentralChs",
    "fixedGridRhoMFastjetCentralChs",
    "softKillerPtCutChs",
)

#: GenPart_statusFlags bits (CMS NanoAOD convention)
FLAG_FROM_HARD_PROCESS = 1 << 8
FLAG_IS_FIRST_COPY = 1 << 12
FLAG_IS_LAST_COPY = 1 << 13

#: events per luminosity block in the synthetic numbering
EVENTS_PER_LUMI = 1000


def _jag(values: np.ndarray, counts: np.ndarray, dtype) -> ak.Array:
    return ak.unflatten(np.ascontiguousarray(values, dtype=dtype), np.asarray(counts, np.int64))


def build_chunk(
    first_event: int,
    weight: np.ndarray,
    cands: CandidateArrays,
    jets: FatJets,
    genpart: GenPartArrays,
    pileup_inputs: EventPileupInputs,
) -> dict[str, ak.Array | np.ndarray]:
    """Branches for one chunk. Candidates kept: the constituents of the saved jets, jet after
    jet, then the other candidates near a saved jet (``pileup_inputs.neighbours``), per event."""
    n_ev = len(jets.counts)
    event = np.arange(first_event, first_event + n_ev, dtype=np.uint64) + np.uint64(1)
    jc = jets.counts
    fj = {
        "pt": jets.pt,
        "eta": jets.eta,
        "phi": jets.phi,
        "mass": jets.mass,
        "msoftdrop": jets.msoftdrop,
        "tau1": jets.tau[:, 0],
        "tau2": jets.tau[:, 1],
        "tau3": jets.tau[:, 2],
        "tau4": jets.tau[:, 3],
    }
    fatjet = {k: _jag(v, jc, np.float32) for k, v in fj.items()}
    fatjet["nConstituents"] = _jag(jets.n_constituents, jc, np.int32)
    fatjet["truthLabel"] = _jag(jets.truth_label, jc, np.int32)
    fatjet["truthPt"] = _jag(jets.truth_pt, jc, np.float32)
    fatjet["truthMass"] = _jag(jets.truth_mass, jc, np.float32)
    fatjet["hardPt"] = _jag(jets.hard_pt, jc, np.float32)
    fatjet["hardMass"] = _jag(jets.hard_mass, jc, np.float32)
    fatjet["hardMsoftdrop"] = _jag(jets.hard_msoftdrop, jc, np.float32)
    fatjet["area"] = _jag(jets.area, jc, np.float32)
    fatjet["areaMass"] = _jag(jets.area_mass, jc, np.float32)

    # PF candidates: constituents of saved jets, jet by jet, then their neighbours, per event
    jet_ev = np.repeat(np.arange(n_ev), jc)
    cand_ev = np.repeat(np.arange(n_ev), cands.counts)
    extra = pileup_inputs.neighbours
    k_ev = np.concatenate([np.repeat(jet_ev, jets.n_constituents), cand_ev[extra]])
    order = np.argsort(k_ev, kind="stable")  # constituents stay first within each event
    k = np.concatenate([jets.constituents, extra])[order]
    pf_counts = np.bincount(k_ev, minlength=n_ev).astype(np.int64)
    n_links = np.bincount(jet_ev, weights=jets.n_constituents, minlength=n_ev).astype(np.int64)
    pt, eta, phi = pt_eta_phi(cands.px[k], cands.py[k], cands.pz[k])
    pf = {
        "pt": _jag(pt, pf_counts, np.float32),
        "eta": _jag(eta, pf_counts, np.float32),
        "phi": _jag(phi, pf_counts, np.float32),
        "mass": _jag(cands.mass[k], pf_counts, np.float32),
        "charge": _jag(cands.charge[k], pf_counts, np.int32),
        "pdgId": _jag(cands.pdg_id[k], pf_counts, np.int32),
        "fromPV": _jag(cands.from_pv[k], pf_counts, np.int32),
        "fromLV": _jag(cands.from_lv[k], pf_counts, np.uint8),
        "lvFraction": _jag(cands.lv_fraction[k], pf_counts, np.float32),
    }
    j_off = np.zeros(n_ev + 1, np.int64)
    np.cumsum(jc, out=j_off[1:])
    local_jet = np.arange(len(jet_ev)) - j_off[jet_ev]
    link_ev = np.repeat(jet_ev, jets.n_constituents)
    l_off = np.cumsum(n_links) - n_links
    link = {
        "jetIdx": _jag(np.repeat(local_jet, jets.n_constituents), n_links, np.int32),
        # constituents come first in their event's PFCands, in link order
        "pFCandsIdx": _jag(np.arange(len(link_ev)) - l_off[link_ev], n_links, np.int32),
    }

    gc = genpart.counts
    heavy = np.isin(np.abs(genpart.pdg_id), (6, 23, 24, 34))
    flags = FLAG_FROM_HARD_PROCESS | np.where(heavy, FLAG_IS_LAST_COPY, FLAG_IS_FIRST_COPY)
    gen = {
        "pt": _jag(genpart.pt, gc, np.float32),
        "eta": _jag(genpart.eta, gc, np.float32),
        "phi": _jag(genpart.phi, gc, np.float32),
        "mass": _jag(genpart.mass, gc, np.float32),
        "pdgId": _jag(genpart.pdg_id, gc, np.int32),
        "status": _jag(genpart.status, gc, np.int32),
        "statusFlags": _jag(flags, gc, np.int32),
        "genPartIdxMother": _jag(genpart.mother, gc, np.int32),
    }
    return {
        "run": np.ones(n_ev, np.uint32),
        "luminosityBlock": (1 + (event - 1) // EVENTS_PER_LUMI).astype(np.uint32),
        "event": event,
        "genWeight": np.asarray(weight, np.float32),
        "fixedGridRhoFastjetAll": np.asarray(pileup_inputs.rho_all, np.float32),
        "fixedGridRhoFastjetCentralChs": np.asarray(pileup_inputs.rho_chs, np.float32),
        "fixedGridRhoMFastjetCentralChs": np.asarray(pileup_inputs.rho_m_chs, np.float32),
        "softKillerPtCutChs": np.asarray(pileup_inputs.softkiller_cut, np.float32),
        "FatJet": ak.zip(fatjet),
        "PFCands": ak.zip(pf),
        "FatJetPFCands": ak.zip(link),
        "GenPart": ak.zip(gen),
    }


class NanoAODWriter:
    """Append chunks to an ``Events`` TTree; the tree is created from the first chunk's types."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = uproot.recreate(self.path)
        self._tree = None
        self.n_events = 0

    def write(self, chunk: dict[str, ak.Array | np.ndarray]) -> None:
        if self._tree is None:
            types = {
                name: (arr.type.content if isinstance(arr, ak.Array) else arr.dtype)
                for name, arr in chunk.items()
            }
            self._tree = self._file.mktree("Events", types, title="Events")
        self._tree.extend(chunk)
        self.n_events += len(chunk["event"])

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> NanoAODWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def iterate_chunks(
    path: str | Path, step_size: int = 1000
) -> Iterator[dict[str, ak.Array | np.ndarray]]:
    """Read a file written by :class:`NanoAODWriter` back as chunks in the same layout."""
    with uproot.open(path) as f:
        tree = f["Events"]
        branches = [*SCALARS] + [f"{c}_{x}" for c, fields in COLLECTIONS.items() for x in fields]
        for arrays in tree.iterate(branches, step_size=step_size, library="ak"):
            chunk: dict[str, ak.Array | np.ndarray] = {s: ak.to_numpy(arrays[s]) for s in SCALARS}
            for coll, fields in COLLECTIONS.items():
                chunk[coll] = ak.zip({x: arrays[f"{coll}_{x}"] for x in fields})
            yield chunk
