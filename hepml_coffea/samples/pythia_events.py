"""Run Pythia 8 in batches and turn its event records into flat numpy arrays.

``Pythia.nextBatch(n)`` (pythia8mc >= 8.315) returns an awkward array of whole event records,
so no Python loop over events or particles is needed. We keep:

* the final-state particles (status > 0) as flat arrays plus per-event counts, and
* a small truth record ("GenPart"): the last copy of every top / W / Z / W' (the copy that
  decays) and the quarks it decays to, with mother links re-indexed into that subset.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numba
import numpy as np

from .generation_errors import PythiaError

#: |pdgId| of the heavy resonances kept in GenPart.
HEAVY_IDS = (6, 23, 24, 34)


@dataclass
class FlatFourMomenta:
    """Four-momenta and identity of particles of a batch of events, flat: ``counts[i]`` of them
    belong to event i."""

    counts: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    mass: np.ndarray
    pdg_id: np.ndarray
    charge: np.ndarray

    @property
    def n_events(self) -> int:
        return len(self.counts)


@dataclass
class ParticleArrays(FlatFourMomenta):
    """Generated particles of a batch of events."""

    from_lv: np.ndarray  # bool: produced by the leading (hard) interaction


@dataclass
class GenPartArrays:
    """Hard-process truth record, flat with per-event counts (NanoAOD GenPart conventions)."""

    counts: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    pdg_id: np.ndarray
    status: np.ndarray
    mother: np.ndarray  # index of the mother within the same event's GenPart, -1 if none


@dataclass
class GenBatch:
    particles: ParticleArrays
    genpart: GenPartArrays
    weight: np.ndarray


def pt_eta_phi(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transverse momentum, pseudorapidity and azimuth (numpy, vectorised)."""
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(np.where(pt > 0, pz / np.where(pt > 0, pt, 1.0), np.sign(pz) * 1e4))
    return pt, eta, np.arctan2(py, px)


@numba.njit(cache=True)
def _select_genpart(
    offsets, pid, status, mother1, daughter1, daughter2, heavy
):  # pragma: no cover - numba
    n = len(pid)
    keep = np.zeros(n, np.bool_)
    for ev in range(len(offsets) - 1):
        lo, hi = offsets[ev], offsets[ev + 1]
        for i in range(lo, hi):
            a = abs(pid[i])
            is_heavy = False
            for h in heavy:
                if a == h:
                    is_heavy = True
            if not is_heavy:
                continue
            d1, d2 = daughter1[i], daughter2[i]
            if d1 <= 0:
                continue
            if d2 < d1:
                d2 = d1
            # a "copy" (recoil in the shower) has a single daughter with the same id
            if pid[lo + d1] == pid[i]:
                continue
            keep[i] = True
            for d in range(d1, d2 + 1):
                ad = abs(pid[lo + d])
                if ad <= 5 or ad == 6 or ad == 23 or ad == 24:
                    keep[lo + d] = True
    return keep


@numba.njit(cache=True)
def _genpart_links(offsets, pid, mother1, daughter1, keep):  # pragma: no cover - numba
    """Mother index inside the kept subset; heavy particles walk up their copy chain first."""
    n = len(pid)
    mother = np.full(n, -1, np.int32)
    drop = np.zeros(n, np.bool_)
    for ev in range(len(offsets) - 1):
        lo, hi = offsets[ev], offsets[ev + 1]
        for i in range(lo, hi):
            if not keep[i]:
                continue
            a = abs(pid[i])
            if a == 6 or a == 23 or a == 24 or a == 34:
                d1 = daughter1[i]
                if d1 > 0 and pid[lo + d1] == pid[i]:
                    # first copy of a resonance whose last copy is kept separately
                    drop[i] = True
                    continue
                j = i
                for _ in range(1000):
                    m = mother1[j]
                    if m <= 0 or pid[lo + m] != pid[i]:
                        break
                    j = lo + m
                m = mother1[j]
            else:
                m = mother1[i]
            if m > 0 and keep[lo + m]:
                # a heavy mother reached through its first copy: walk down to its last copy
                k = lo + m
                for _ in range(1000):
                    d1 = daughter1[k]
                    if d1 > 0 and pid[lo + d1] == pid[k]:
                        k = lo + d1
                    else:
                        break
                mother[i] = k
    return mother, drop


def _pythia_version() -> str:
    from importlib.metadata import version

    return f"(pythia8mc {version('pythia8mc')})"


class PythiaGenerator:
    """A seeded, silenced Pythia instance producing :class:`GenBatch` objects."""

    def __init__(self, settings: list[str], seed: int) -> None:
        import pythia8mc

        self._pythia = pythia8mc.Pythia("", False)  # False: no banner
        for line in settings:
            if not self._pythia.readString(line):
                raise PythiaError(
                    f"Pythia {_pythia_version()} rejected the setting {line!r}; check "
                    "hepml_coffea.samples.processes (or reinstall pythia8mc==8.317.2)"
                )
        self._pythia.readString(f"Random:seed = {int(seed) % 900_000_000}")
        if not self._pythia.init():
            raise PythiaError(
                f"Pythia {_pythia_version()} failed to initialise with {len(settings)} settings; "
                "check hepml_coffea.samples.processes (or reinstall pythia8mc==8.317.2)"
            )
        self._charge_cache: dict[int, float] = {}

    def _charges(self, pid: np.ndarray) -> np.ndarray:
        uniq, inverse = np.unique(pid, return_inverse=True)
        table = np.empty(len(uniq), np.float32)
        for k, code in enumerate(uniq.tolist()):  # loop over distinct species only (~100)
            if code not in self._charge_cache:
                self._charge_cache[code] = float(self._pythia.particleData.charge(code))
            table[k] = self._charge_cache[code]
        return table[inverse]

    def _next(self, n: int) -> ak.Array:
        parts = []
        missing = n
        while missing > 0:
            batch = self._pythia.nextBatch(missing)
            if len(batch) == 0:
                raise PythiaError(
                    f"Pythia {_pythia_version()} stopped producing events after "
                    f"{n - missing} of {n}; rerun with another --seed and report the settings"
                )
            parts.append(batch)
            missing -= len(batch)
        return parts[0] if len(parts) == 1 else ak.concatenate(parts)

    def generate(self, n: int) -> GenBatch:
        """Generate ``n`` events."""
        batch = self._next(n)
        prt = batch.prt
        weight = ak.to_numpy(ak.fill_none(ak.firsts(batch.info.weights), 1.0)).astype(np.float32)

        # ---- final state
        fs = prt[prt.status > 0]
        counts = ak.to_numpy(ak.num(fs)).astype(np.int64)
        flat = ak.flatten(fs)
        pid = ak.to_numpy(flat.id).astype(np.int32)
        particles = ParticleArrays(
            counts=counts,
            px=ak.to_numpy(flat.p.px),
            py=ak.to_numpy(flat.p.py),
            pz=ak.to_numpy(flat.p.pz),
            e=ak.to_numpy(flat.p.e),
            mass=ak.to_numpy(flat.m),
            pdg_id=pid,
            charge=self._charges(pid),
            from_lv=np.ones(len(pid), np.bool_),
        )

        # ---- truth record
        all_counts = ak.to_numpy(ak.num(prt)).astype(np.int64)
        offsets = np.zeros(len(all_counts) + 1, np.int64)
        np.cumsum(all_counts, out=offsets[1:])
        aflat = ak.flatten(prt)
        apid = ak.to_numpy(aflat.id).astype(np.int32)
        m1 = ak.to_numpy(aflat.mother1).astype(np.int64)
        d1 = ak.to_numpy(aflat.daughter1).astype(np.int64)
        d2 = ak.to_numpy(aflat.daughter2).astype(np.int64)
        status = ak.to_numpy(aflat.status).astype(np.int32)
        keep = _select_genpart(offsets, apid, status, m1, d1, d2, np.array(HEAVY_IDS, np.int32))
        mother_global, drop = _genpart_links(offsets, apid, m1, d1, keep)
        keep &= ~drop
        kept = np.nonzero(keep)[0]
        event_of = np.repeat(np.arange(len(all_counts)), all_counts)[kept]
        g_counts = np.bincount(event_of, minlength=len(all_counts)).astype(np.int64)
        g_offsets = np.zeros(len(g_counts) + 1, np.int64)
        np.cumsum(g_counts, out=g_offsets[1:])
        # global record index -> local GenPart index
        local = np.full(len(apid), -1, np.int64)
        local[kept] = np.arange(len(kept)) - g_offsets[event_of]
        mg = mother_global[kept]
        mother = np.where(mg >= 0, local[np.maximum(mg, 0)], -1).astype(np.int32)
        gpx = ak.to_numpy(aflat.p.px)[kept]
        gpy = ak.to_numpy(aflat.p.py)[kept]
        gpz = ak.to_numpy(aflat.p.pz)[kept]
        gpt, geta, gphi = pt_eta_phi(gpx, gpy, gpz)
        genpart = GenPartArrays(
            counts=g_counts,
            pt=gpt,
            eta=geta,
            phi=gphi,
            mass=ak.to_numpy(aflat.m)[kept],
            pdg_id=apid[kept],
            status=np.abs(status[kept]),
            mother=mother,
        )
        return GenBatch(particles=particles, genpart=genpart, weight=weight)
