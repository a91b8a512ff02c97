"""Pileup: overlay Poisson(mu) minimum-bias interactions drawn from a pre-generated pool.

The pool is generated once per job (:func:`pool_size` minbias events) and reused for every event;
each overlaid interaction is additionally rotated by a random azimuth and reflected in z with
probability 1/2, so repeated draws of one pool event do not produce identical deposits.
Pileup particles carry ``from_lv = False``.
"""

from __future__ import annotations

import numpy as np

from .processes import pythia_settings
from .pythia_events import ParticleArrays, PythiaGenerator

#: Smallest pool of minbias events generated per job.
POOL_SIZE = 1000


def pool_size(mu: float) -> int:
    """Pool size for mean pileup ``mu``: at least :data:`POOL_SIZE`, and large enough that one
    crossing of ``mu`` interactions drawn with replacement contains on average at most one
    pair of copies of the same pool event (expected pairs ``mu^2 / (2 N)``): N >= mu^2 / 2,
    9800 events at mu = 140 (a fixed 1000 would give 9.8 repeated pairs per crossing there)."""
    return max(POOL_SIZE, int(np.ceil(mu * mu / 2.0)))


class PileupPool:
    """A pool of minimum-bias final states to draw pileup interactions from."""

    def __init__(self, seed: int, size: int = POOL_SIZE, batch: int = 250) -> None:
        gen = PythiaGenerator(pythia_settings("minbias"), seed)
        parts = []
        left = size
        while left > 0:
            parts.append(gen.generate(min(batch, left)).particles)
            left -= batch
        self.counts = np.concatenate([q.counts for q in parts])
        self.offsets = np.zeros(len(self.counts) + 1, np.int64)
        np.cumsum(self.counts, out=self.offsets[1:])
        cat = lambda name: np.concatenate([getattr(q, name) for q in parts])  # noqa: E731
        self.px, self.py, self.pz, self.e = cat("px"), cat("py"), cat("pz"), cat("e")
        self.mass, self.pdg_id, self.charge = cat("mass"), cat("pdg_id"), cat("charge")

    @property
    def size(self) -> int:
        return len(self.counts)

    def draw(self, n_events: int, mu: float, rng: np.random.Generator) -> ParticleArrays:
        """Pileup particles for ``n_events`` events (Poisson(mu) interactions each)."""
        n_pu = rng.poisson(mu, n_events)
        which = rng.integers(0, self.size, n_pu.sum())
        angle = rng.uniform(-np.pi, np.pi, len(which))
        flip = np.where(rng.random(len(which)) < 0.5, -1.0, 1.0)
        lens = self.counts[which]
        total = int(lens.sum())
        # flat gather: for interaction k, pool particles offsets[which[k]] + 0..lens[k]-1
        starts = np.repeat(self.offsets[which] - np.cumsum(lens) + lens, lens)
        idx = starts + np.arange(total)
        inter = np.repeat(np.arange(len(which)), lens)
        c, s = np.cos(angle)[inter], np.sin(angle)[inter]
        px, py = self.px[idx], self.py[idx]
        counts = np.bincount(
            np.repeat(np.arange(n_events), n_pu), weights=lens, minlength=n_events
        ).astype(np.int64)
        return ParticleArrays(
            counts=counts,
            px=c * px - s * py,
            py=s * px + c * py,
            pz=self.pz[idx] * flip[inter],
            e=self.e[idx],
            mass=self.mass[idx],
            pdg_id=self.pdg_id[idx],
            charge=self.charge[idx],
            from_lv=np.zeros(total, np.bool_),
        )


def overlay(signal: ParticleArrays, pileup: ParticleArrays) -> ParticleArrays:
    """Per event: signal particles first, then pileup particles."""
    n = signal.n_events
    ev = np.concatenate(
        [np.repeat(np.arange(n), signal.counts), np.repeat(np.arange(n), pileup.counts)]
    )
    order = np.argsort(ev, kind="stable")

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(signal, name), getattr(pileup, name)])[order]

    return ParticleArrays(
        counts=signal.counts + pileup.counts,
        **{k: cat(k) for k in ("px", "py", "pz", "e", "mass", "pdg_id", "charge", "from_lv")},
    )
