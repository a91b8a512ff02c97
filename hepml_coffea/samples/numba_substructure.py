"""Jet substructure in numba: soft-drop mass and N-subjettiness from the jet constituents.

Both need a pairwise sequential recombination of a jet's constituents (no beam distance, so the
whole jet ends in one branch): Cambridge/Aachen (p = 0) for soft drop and exclusive kT (p = 1)
for the N-subjettiness axes. ``_recluster`` is a nearest-neighbour (FastJet "N2Plain"-style)
implementation, O(n^2) per jet, with E-scheme recombination in (rapidity, phi).

* soft drop (beta = 0, z_cut = 0.1, R0 = 0.8): decluster the C/A tree from the top, dropping the
  softer branch until min(pT1, pT2) / (pT1 + pT2) > z_cut (dR12 / R0)^beta;
* tau_N (beta = 1, R0 = 0.8, CMS convention): axes = the N exclusive-kT subjets (plain
  exclusive kT axes, no one-pass minimisation),
  tau_N = sum_k pT_k min_a dR(k, a) / (sum_k pT_k R0).
"""

from __future__ import annotations

import numba
import numpy as np

SOFTDROP_ZCUT = 0.1
SOFTDROP_BETA = 0.0
SOFTDROP_R0 = 0.8
NSUB_BETA = 1.0
NSUB_R0 = 0.8
N_TAU = 4


@numba.njit(cache=True, inline="always")
def _rap(px, py, pz, e):  # pragma: no cover - numba
    pt2 = px * px + py * py
    if e == abs(pz) and pt2 == 0.0:
        return 1e5 if pz > 0 else -1e5
    mt2 = max(e * e - pz * pz, 1e-300)
    return 0.5 * np.log(((e + abs(pz)) ** 2) / mt2) * (1.0 if pz >= 0 else -1.0)


@numba.njit(cache=True, inline="always")
def _dr2(y1, f1, y2, f2):  # pragma: no cover - numba
    df = abs(f1 - f2)
    if df > np.pi:
        df = 2 * np.pi - df
    dy = y1 - y2
    return dy * dy + df * df


@numba.njit(cache=True)
def _recluster(px, py, pz, e, p_exp):  # pragma: no cover - numba
    """Pairwise generalised-kT clustering of one jet.

    Returns node 4-momenta (n particles, then n-1 merged nodes) and, per merge, the two parent
    node indices. Node ``n + m`` is the result of merge ``m``.
    """
    n = len(px)
    nn_nodes = max(2 * n - 1, n)
    npx = np.empty(nn_nodes)
    npy = np.empty(nn_nodes)
    npz = np.empty(nn_nodes)
    ne = np.empty(nn_nodes)
    parents = np.full((max(n - 1, 0), 2), -1, np.int64)
    npx[:n] = px
    npy[:n] = py
    npz[:n] = pz
    ne[:n] = e
    slot_node = np.arange(n)
    active = np.ones(n, np.bool_)
    y = np.empty(n)
    f = np.empty(n)
    w = np.empty(n)  # kt^(2p)
    for i in range(n):
        y[i] = _rap(px[i], py[i], pz[i], e[i])
        f[i] = np.arctan2(py[i], px[i])
        pt2 = px[i] * px[i] + py[i] * py[i]
        w[i] = pt2**p_exp if p_exp != 0 else 1.0
    nn = np.full(n, -1, np.int64)
    nnd = np.full(n, np.inf)
    for i in range(n):
        for j in range(i + 1, n):
            d = _dr2(y[i], f[i], y[j], f[j])
            if d < nnd[i]:
                nnd[i] = d
                nn[i] = j
            if d < nnd[j]:
                nnd[j] = d
                nn[j] = i
    for m in range(n - 1):
        best = np.inf
        bi = -1
        for i in range(n):
            if active[i] and nn[i] >= 0:
                d = min(w[i], w[nn[i]]) * nnd[i]
                if d < best:
                    best = d
                    bi = i
        i = bi
        j = nn[i]
        a, b = slot_node[i], slot_node[j]
        node = n + m
        npx[node] = npx[a] + npx[b]
        npy[node] = npy[a] + npy[b]
        npz[node] = npz[a] + npz[b]
        ne[node] = ne[a] + ne[b]
        parents[m, 0] = a
        parents[m, 1] = b
        slot_node[i] = node
        active[j] = False
        y[i] = _rap(npx[node], npy[node], npz[node], ne[node])
        f[i] = np.arctan2(npy[node], npx[node])
        pt2 = npx[node] ** 2 + npy[node] ** 2
        w[i] = pt2**p_exp if p_exp != 0 else 1.0
        # update nearest neighbours
        nn[i] = -1
        nnd[i] = np.inf
        nn[j] = -1
        for k in range(n):
            if not active[k] or k == i:
                continue
            d = _dr2(y[i], f[i], y[k], f[k])
            if d < nnd[i]:
                nnd[i] = d
                nn[i] = k
            if nn[k] == i or nn[k] == j:
                # its neighbour moved or vanished: full search
                nnd[k] = np.inf
                nn[k] = -1
                for m in range(n):
                    if m == k or not active[m]:
                        continue
                    d2 = _dr2(y[k], f[k], y[m], f[m])
                    if d2 < nnd[k]:
                        nnd[k] = d2
                        nn[k] = m
            elif d < nnd[k]:
                nnd[k] = d
                nn[k] = i
    return npx, npy, npz, ne, parents


@numba.njit(cache=True, inline="always")
def _mass(px, py, pz, e):  # pragma: no cover - numba
    m2 = e * e - px * px - py * py - pz * pz
    return np.sqrt(m2) if m2 > 0 else 0.0


@numba.njit(cache=True)
def _softdrop_mass(px, py, pz, e, zcut, beta, r0):  # pragma: no cover - numba
    n = len(px)
    if n == 0:
        return 0.0
    if n == 1:
        return _mass(px[0], py[0], pz[0], e[0])
    npx, npy, npz, ne, parents = _recluster(px, py, pz, e, 0.0)
    node = 2 * n - 2
    while node >= n:
        a = parents[node - n, 0]
        b = parents[node - n, 1]
        pta = np.hypot(npx[a], npy[a])
        ptb = np.hypot(npx[b], npy[b])
        z = min(pta, ptb) / (pta + ptb)
        dr = np.sqrt(
            _dr2(
                _rap(npx[a], npy[a], npz[a], ne[a]),
                np.arctan2(npy[a], npx[a]),
                _rap(npx[b], npy[b], npz[b], ne[b]),
                np.arctan2(npy[b], npx[b]),
            )
        )
        if z > zcut * (dr / r0) ** beta:
            break
        node = a if pta >= ptb else b
    return _mass(npx[node], npy[node], npz[node], ne[node])


@numba.njit(cache=True)
def _nsubjettiness(px, py, pz, e, n_tau, beta, r0):  # pragma: no cover - numba
    n = len(px)
    taus = np.zeros(n_tau)
    if n == 0:
        return taus
    npx, npy, npz, ne, parents = _recluster(px, py, pz, e, 1.0)
    y = np.empty(n)
    f = np.empty(n)
    pt = np.empty(n)
    d0 = 0.0
    for k in range(n):
        y[k] = _rap(px[k], py[k], pz[k], e[k])
        f[k] = np.arctan2(py[k], px[k])
        pt[k] = np.hypot(px[k], py[k])
        d0 += pt[k] * r0
    if d0 <= 0:
        return taus
    alive = np.zeros(2 * n - 1, np.bool_)
    for nax in range(1, n_tau + 1):
        if n <= nax:
            break  # tau_N = 0 when every constituent is its own axis
        n_merge = n - nax
        alive[:] = False
        alive[: n + n_merge] = True
        for m in range(n_merge):
            alive[parents[m, 0]] = False
            alive[parents[m, 1]] = False
        ay = np.empty(nax)
        af = np.empty(nax)
        c = 0
        for node in range(n + n_merge):
            if alive[node]:
                ay[c] = _rap(npx[node], npy[node], npz[node], ne[node])
                af[c] = np.arctan2(npy[node], npx[node])
                c += 1
        s = 0.0
        for k in range(n):
            dmin = np.inf
            for a in range(nax):
                d = _dr2(y[k], f[k], ay[a], af[a])
                if d < dmin:
                    dmin = d
            s += pt[k] * dmin ** (0.5 * beta)
        taus[nax - 1] = s / d0
    return taus


@numba.njit(cache=True)
def _substructure_kernel(
    px, py, pz, e, offsets, zcut, sd_beta, sd_r0, n_tau, tau_beta, tau_r0
):  # pragma: no cover
    n_jets = len(offsets) - 1
    msd = np.zeros(n_jets)
    tau = np.zeros((n_jets, n_tau))
    for j in range(n_jets):
        lo, hi = offsets[j], offsets[j + 1]
        msd[j] = _softdrop_mass(px[lo:hi], py[lo:hi], pz[lo:hi], e[lo:hi], zcut, sd_beta, sd_r0)
        tau[j] = _nsubjettiness(px[lo:hi], py[lo:hi], pz[lo:hi], e[lo:hi], n_tau, tau_beta, tau_r0)
    return msd, tau


def _kernel_arrays(px, py, pz, e, jet_offsets) -> tuple[np.ndarray, ...]:
    """The constituents' four-momenta (float64) and the jet offsets (int64), contiguous, as the
    numba kernels are compiled for."""
    momenta = (np.ascontiguousarray(a, np.float64) for a in (px, py, pz, e))
    return (*momenta, np.ascontiguousarray(jet_offsets, np.int64))


def jet_substructure(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, jet_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Soft-drop mass and tau_1..tau_4 for jets whose constituents are ``[offsets[j], offsets[j+1])``.

    Returns ``(msoftdrop[n_jets], tau[n_jets, 4])``.
    """
    return _substructure_kernel(
        *_kernel_arrays(px, py, pz, e, jet_offsets),
        SOFTDROP_ZCUT,
        SOFTDROP_BETA,
        SOFTDROP_R0,
        N_TAU,
        NSUB_BETA,
        NSUB_R0,
    )


@numba.njit(cache=True)
def _softdrop_kernel(px, py, pz, e, offsets, zcut, beta, r0):  # pragma: no cover - numba
    n_jets = len(offsets) - 1
    msd = np.zeros(n_jets)
    for j in range(n_jets):
        lo, hi = offsets[j], offsets[j + 1]
        msd[j] = _softdrop_mass(px[lo:hi], py[lo:hi], pz[lo:hi], e[lo:hi], zcut, beta, r0)
    return msd


def softdrop_masses(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray, jet_offsets: np.ndarray
) -> np.ndarray:
    """Soft-drop mass only (same algorithm and parameters as :func:`jet_substructure`), for jets
    whose constituents are ``[offsets[j], offsets[j+1])``; skips the N-subjettiness cost."""
    return _softdrop_kernel(
        *_kernel_arrays(px, py, pz, e, jet_offsets),
        SOFTDROP_ZCUT,
        SOFTDROP_BETA,
        SOFTDROP_R0,
    )
