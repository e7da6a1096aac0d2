"""Sentinel-1 images: VV/VH backscatter (water-cloud model, speckle) and 6-day coherence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.demo.cog import discard_lsb, write_cog
from backend.demo.params import STREAM_S1, rng_for
from backend.demo.phenology import N_DAYS
from backend.demo.scene import ROAD, VERGE, WATER
from backend.demo.schedule import S1_REPEAT, Acquisition, coherence_id
from backend.demo.world import World

LOOKS = 8.0
# Volume (vegetation) and surface (soil) backscatter, linear power, VV and VH.
VEG = {"VV": 10 ** (-10.5 / 10), "VH": 10 ** (-14.5 / 10)}
SOIL_DB = {"VV": (-15.0, 5.0, 4.0), "VH": (-24.5, 3.5, 4.0)}  # base, x moisture, x roughness
OTHER_DB = {VERGE: {"VV": -12.5, "VH": -19.0}, ROAD: {"VV": -14.0, "VH": -21.0},
            WATER: {"VV": -22.0, "VH": -28.0}}
COH = {"VV": (0.12, 0.62), "VH": (0.08, 0.45)}  # floor, extra when no biomass
OTHER_COH = {VERGE: 0.3, ROAD: 0.6, WATER: 0.05}


@dataclass(frozen=True)
class S1Image:
    """What was written for one Sentinel-1 date: backscatter and coherence files."""

    acq: Acquisition
    coherence_id: str
    files: dict[str, str]
    coh_files: dict[str, str]


def _db(x: float | np.ndarray) -> float | np.ndarray:
    return 10 ** (np.asarray(x) / 10.0)


def backscatter(w: World, day: int, pol: str, ascending: bool) -> np.ndarray:
    """Noise-free backscatter (linear power) of every S1 pixel on day index ``day``."""
    lay = w.layer_s1
    idx = np.maximum(lay.labels - 1, 0)
    bio = w.state.bio[:, day][idx]
    rough = w.state.rough[:, day][idx]
    base, k_moist, k_rough = SOIL_DB[pol]
    soil = _db(base + k_moist * w.moisture[day] + k_rough * rough + (0.5 if ascending else 0))
    tau = np.exp(-2.2 * bio)
    sigma = VEG[pol] * (1 - tau) + soil * tau
    sigma = sigma * _db(0.6 * lay.het)
    border = lay.border.astype(np.float32) * 0.35
    sigma = sigma * (1 - border) + border * _db(OTHER_DB[VERGE][pol])
    for code, values in OTHER_DB.items():
        sigma[lay.cover == code] = _db(values[pol])
    if w.season is not None:  # opt-in harder season: rain-wetted dates
        sigma = w.season.s1_sigma(w, day, sigma)
    return np.asarray(sigma, np.float32)


def coherence(w: World, day: int, pol: str, rng: np.random.Generator) -> np.ndarray:
    """Coherence of the 6-day pair ending on ``day``, with estimation noise."""
    lay = w.layer_s1
    idx = np.maximum(lay.labels - 1, 0)
    first = max(day - S1_REPEAT + 1, 0)
    hit = w.disturbed[:, first : day + 1].any(axis=1)
    floor, extra = COH[pol]
    gamma = (floor + extra * np.exp(-3.5 * w.state.bio[:, day])) * np.where(hit, 0.3, 1.0)
    px = gamma[idx].astype(np.float32)
    for code, value in OTHER_COH.items():
        px[lay.cover == code] = value if pol == "VV" else 0.8 * value
    if w.rain[day] or w.rain[max(day - S1_REPEAT, 0)]:
        px *= np.float32(rng.uniform(0.6, 0.8))
    px += rng.normal(0.0, 1.0, px.shape).astype(np.float32) * (0.03 + 0.05 * (1 - px))
    return np.clip(px, 0.01, 0.99)


def render_s1(w: World, index: int, acq: Acquisition) -> S1Image:
    """Render and write the VV, VH, COH_VV and COH_VH COGs of one Sentinel-1 date.

    Args:
        w: The world (static inputs).
        index: Position of the date in the calendar (selects the random stream).
        acq: The acquisition.
    """
    rng = rng_for(w.params.seed, STREAM_S1, index)
    day = min(acq.day, N_DAYS - 1)
    g = w.layer_s1.grid
    files, coh_files = {}, {}
    cid = coherence_id(acq)
    for pol in ("VV", "VH"):
        sigma = backscatter(w, day, pol, acq.direction == "ascending")
        sigma = sigma * rng.gamma(LOOKS, 1.0 / LOOKS, sigma.shape).astype(np.float32)
        files[pol] = f"s1/{acq.item_id}/{pol}.tif"
        write_cog(w.out_dir / files[pol], discard_lsb(np.maximum(sigma, 1e-5)), g,
                  nodata=0.0, description=pol)
        name = f"COH_{pol}"
        coh_files[name] = f"coh/{cid}/{name}.tif"
        write_cog(w.out_dir / coh_files[name], discard_lsb(coherence(w, day, pol, rng)), g,
                  nodata=0.0, description=name)
    return S1Image(acq, cid, files, coh_files)
