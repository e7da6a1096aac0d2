"""Sentinel-2 L2A images: linear mixing of green, dry, soil, water and road spectra under a sky."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.demo.atmosphere import Sky, make_sky
from backend.demo.cog import write_cog
from backend.demo.noise import block_mean
from backend.demo.params import RES_10, RES_20, STREAM_S2, grid, rng_for
from backend.demo.scene import ROAD, VERGE, WATER, Layer
from backend.demo.schedule import Acquisition
from backend.demo.world import World

BANDS = ("B02", "B03", "B04", "B05", "B08", "B11")
BANDS_10 = ("B02", "B03", "B04", "B08")
RESOLUTION = {"B02": 10, "B03": 10, "B04": 10, "B05": 20, "B08": 10, "B11": 20, "SCL": 20}
SCL_CODES = frozenset({0, 3, 4, 5, 6, 8, 9, 10})
CLOUDY = (8, 9, 10)
# Reflectance (0..1) of the endmembers in B02 B03 B04 B05 B08 B11.
ENDMEMBERS = np.array([
    [0.030, 0.070, 0.030, 0.110, 0.450, 0.200],  # green vegetation
    [0.060, 0.090, 0.120, 0.160, 0.220, 0.330],  # dry residue, stubble, senescent crop
    [0.075, 0.100, 0.130, 0.155, 0.180, 0.280],  # moist clay soil
    [0.050, 0.060, 0.035, 0.030, 0.015, 0.008],  # water
    [0.090, 0.100, 0.110, 0.120, 0.130, 0.150],  # asphalt
], dtype=np.float32)
CLOUD = np.array([0.55, 0.53, 0.52, 0.52, 0.55, 0.38], np.float32)
CIRRUS = np.array([0.12, 0.12, 0.12, 0.12, 0.13, 0.10], np.float32)
HAZE = np.array([0.20, 0.15, 0.12, 0.10, 0.06, 0.02], np.float32)
COVER_NOISE = (0.004, 0.003)  # per-pixel std of green and dry cover
SENSOR_NOISE = 0.0002  # reflectance std; small, so that the COGs stay small


@dataclass(frozen=True)
class S2Image:
    """What was written for one Sentinel-2 date (for the STAC item)."""

    acq: Acquisition
    cloud_cover: float
    files: dict[str, str]


def _field_fractions(
    w: World, day: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(green, dry, soil) cover of every 10 m pixel from the field state, with noise."""
    lay = w.layer10
    idx = np.maximum(lay.labels - 1, 0)
    shape = lay.labels.shape
    green = w.state.green[:, day][idx] * (1 + 0.08 * lay.het)
    green += rng.normal(0.0, COVER_NOISE[0], shape).astype(np.float32)
    dry = w.state.dry[:, day][idx] * (1 + 0.07 * lay.het)
    dry += rng.normal(0.0, COVER_NOISE[1], shape).astype(np.float32)
    green = np.clip(green, 0.0, 1.0)
    dry = np.clip(dry, 0.0, 1.0 - green)
    return green, dry, 1.0 - green - dry


def fractions(w: World, day: int, rng: np.random.Generator) -> np.ndarray:
    """Endmember fractions (5, rows, cols) of the 10 m grid on day index ``day``."""
    lay: Layer = w.layer10
    green, dry, soil = _field_fractions(w, day, rng)
    season = 0.5 - 0.5 * np.cos(2 * np.pi * (day - 15) / 365.0)
    verge = np.array([0.45 + 0.25 * season, 0.15, 0.4 - 0.25 * season, 0.0, 0.0], np.float32)
    fr = np.stack([green, dry, soil, np.zeros_like(green), np.zeros_like(green)])
    mix = lay.border[None] * np.float32(0.35)
    fr = fr * (1 - mix) + verge[:, None, None] * mix
    other = {VERGE: verge, ROAD: 0.3 * verge + np.array([0, 0, 0, 0, 0.7], np.float32),
             WATER: np.array([0, 0, 0, 1, 0], np.float32)}
    for code, vec in other.items():
        fr[:, lay.cover == code] = vec[:, None]
    brightness = w.soil_brightness[np.maximum(lay.labels - 1, 0)] * (1 + 0.06 * lay.soil)
    fr[2] *= brightness * (1 - 0.25 * np.float32(w.moisture[day]))
    return fr


def _apply_sky(refl: np.ndarray, sky: Sky) -> np.ndarray:
    """Darken shadows, add haze, cirrus and clouds to surface reflectance (6, rows, cols)."""
    out = refl * (1 - 0.7 * sky.shadow)
    for opacity, spectrum in ((sky.haze, HAZE), (sky.cirrus, CIRRUS), (sky.cloud, CLOUD)):
        if opacity.any():
            out = out * (1 - opacity) + opacity * spectrum[:, None, None]
    return out


def scene_classification(
    ndvi20: np.ndarray, water20: np.ndarray, sky: Sky, valid20: np.ndarray
) -> np.ndarray:
    """SCL at 20 m: vegetation/bare/water from the surface, then cirrus, shadow, cloud.

    Haze and thin cloud edges stay unflagged, as in real L2A products.
    """
    scl = np.where(ndvi20 >= 0.35, 4, 5).astype(np.uint8)
    scl[water20 >= 0.5] = 6
    scl[block_mean(sky.cirrus) > 0.03] = 10
    scl[block_mean(sky.shadow) > 0.3] = 3
    cloud = block_mean(sky.cloud)
    scl[cloud > 0.3] = 8
    scl[cloud > 0.65] = 9
    scl[~valid20] = 0
    return scl


def _to_dn(refl: np.ndarray, valid: np.ndarray) -> np.ndarray:
    dn = np.clip(np.rint(refl * 10_000.0), 1, 65_535).astype(np.uint16)
    dn[..., ~valid] = 0
    return dn


def render_s2(w: World, index: int, acq: Acquisition) -> S2Image:
    """Render and write the seven COGs of one Sentinel-2 date.

    Args:
        w: The world (static inputs).
        index: Position of the date in the calendar (selects the random stream).
        acq: The acquisition.
    """
    rng = rng_for(w.params.seed, STREAM_S2, index)
    g10, g20 = grid(w.params, RES_10), grid(w.params, RES_20)
    fr = fractions(w, acq.day, rng)
    surface = (ENDMEMBERS.T @ fr.reshape(5, -1)).reshape(6, *g10.shape)
    red, nir = block_mean(surface[2]), block_mean(surface[4])
    sky = make_sky(rng, g10.shape, acq.day, RES_10)
    if w.season is not None:  # opt-in harder season: more cloud, unflagged haze
        sky = w.season.sky(w, index, acq.day, sky)
    refl = _apply_sky(surface, sky) + rng.normal(0.0, SENSOR_NOISE, surface.shape).astype(np.float32)
    valid20 = block_mean(sky.valid.astype(np.float32)) == 1.0
    water20 = block_mean((w.layer10.cover == WATER).astype(np.float32))
    scl = scene_classification((nir - red) / (nir + red + 1e-6), water20, sky, valid20)
    files: dict[str, str] = {}
    for b, band in enumerate(BANDS):
        if band in BANDS_10:
            data, g = _to_dn(refl[b], sky.valid), g10
        else:
            data, g = _to_dn(block_mean(refl[b]), valid20), g20
        files[band] = f"s2/{acq.item_id}/{band}.tif"
        write_cog(w.out_dir / files[band], data, g, nodata=0, description=band)
    files["SCL"] = f"s2/{acq.item_id}/SCL.tif"
    write_cog(w.out_dir / files["SCL"], scl, g20, nodata=0, description="SCL",
              resampling="NEAREST")
    n_valid = int((scl > 0).sum())
    cc = 100.0 * float(np.isin(scl, CLOUDY).sum()) / max(n_valid, 1)
    return S2Image(acq, round(cc, 2), files)
