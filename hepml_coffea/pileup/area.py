"""Area-median subtraction (Cacciari, Salam, 0707.0226; with rho_m, Soyez et al. 1211.2811).

On the CHS jet, as fastjet's ``Subtractor`` with ``rho_m``: subtract ``rho A`` along the jet
direction and ``rho_m A`` as a pure mass term,

    p_sub = p - rho * A_mu - rho_m * A * (0, 0, sinh y, cosh y),

with A_mu the jet's four-vector area (pT A, the jet's y and phi, mass ``FatJet_areaMass``), and rho and rho_m of the CHS event (``fixedGridRhoFastjetCentralChs`` / ``...RhoMFastjetCentralChs``: the
grid median after charged pileup is removed, as the jet is) and A the jet's active area. A jet
whose subtracted pT is not positive becomes a null jet; a negative subtracted mass squared
becomes 0 keeping pT, y and phi (fastjet's "safe mass"). The soft-drop mass is the CHS one: an
area subtraction of the groomed jet needs the groomed jet's area, which the files do not hold.
"""

from __future__ import annotations

import numpy as np


def subtract(
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    e: np.ndarray,
    area: np.ndarray,
    area_mass: np.ndarray,
    rho: np.ndarray,
    rho_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(pT, mass) of jets (four-momenta ``px..e``) after area-median subtraction."""
    pt = np.hypot(px, py)
    phi = np.arctan2(py, px)
    y = 0.5 * np.log(np.maximum(e + pz, 1e-300) / np.maximum(e - pz, 1e-300))
    a_pt, a_m = rho * area, rho_m * area
    a_mt = rho * np.sqrt(area**2 + area_mass**2)  # transverse mass of rho x A_mu
    sub_px, sub_py = px - a_pt * np.cos(phi), py - a_pt * np.sin(phi)
    sub_pz = pz - (a_mt + a_m) * np.sinh(y)
    sub_e = e - (a_mt + a_m) * np.cosh(y)
    sub_pt = np.hypot(sub_px, sub_py)
    alive = (pt - a_pt) > 0
    m2 = sub_e**2 - sub_px**2 - sub_py**2 - sub_pz**2
    mass = np.sqrt(np.maximum(m2, 0.0))
    return np.where(alive, sub_pt, 0.0), np.where(alive, mass, 0.0)
