"""Opt-in SYNTHETIC season "rain": local showers that wet the radar, with their weather file.

Unlike the area-wide wet spells of :mod:`backend.demo.seasons` (which the markers' area-wide
correction removes), showers here fall on a part of the area only: spells of 4-9 days over
20-45 % of the 0.01-degree weather cells. A field whose cell had at least ``WET_MM`` of rain over
an acquisition day and the day before shows its S1 backscatter raised by 1.5-4 dB on that date
(wet soil and vegetation). The same rain is written to ``weather.nc`` (AgERA5 names and units),
so the markers can be run with and without it (``bench/markers_weather.py``). The default demo
never uses this module.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Transformer

from backend.demo.ancillary import WeatherGrid, cell_centres, temperatures, write_weather
from backend.demo.noise import smooth_noise
from backend.demo.params import CRS, N_DAYS, ORIGIN_X, ORIGIN_Y, S1_RES, DemoParams, rng_for
from backend.demo.parcels import to_geodataframe, write_parcels
from backend.demo.s1 import render_s1
from backend.demo.s2 import render_s2
from backend.demo.schedule import s1_calendar, s2_calendar
from backend.demo.seasons import STREAM_SEASON, Season, season_world
from backend.demo.stac import write_stac
from backend.demo.truth import ground_truth, write_readme, write_truth

log = logging.getLogger(__name__)

RAIN = Season("rain", wet_spell_p=0.0, cloudy_p=0.45, haze_p=0.1)
"""S2 and fields as a moderate season; S1 wetted by the showers only (no area-wide spells)."""
WET_MM = 5.0
SPELL_P = 0.08


def showers(params: DemoParams, rng: np.random.Generator) -> WeatherGrid:
    """Daily weather with local shower spells (mm/day, (days, lat, lon)) and seasonal temperatures."""
    lons, lats = cell_centres(params)
    shape = (len(lats), len(lons))
    precip = np.where(rng.random((N_DAYS, 1, 1)) < 0.25, rng.uniform(0, 1.5, (N_DAYS, *shape)), 0.0)
    d = 0
    while d < N_DAYS:
        if rng.random() < SPELL_P:
            length = int(rng.integers(4, 10))
            field = smooth_noise(rng, shape, max(shape) / 1.5, 2)
            wet = field >= np.quantile(field, 1 - rng.uniform(0.2, 0.45))
            for k in range(d, min(d + length, N_DAYS)):
                precip[k][wet] += rng.uniform(4.0, 16.0) * rng.uniform(0.7, 1.3, int(wet.sum()))
            d += length + int(rng.integers(2, 6))
        d += 1
    return WeatherGrid(lons, lats, precip.round(1).astype(np.float32), *temperatures(rng, shape))


def wet_db(g: WeatherGrid, fields: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n_fields, N_DAYS) dB added to S1: 1.5-4 dB where the field's cell had >= WET_MM in two days."""
    to_ll = Transformer.from_crs(CRS, 4326, always_xy=True)
    cx = np.array([f.centroid.x for f in fields])
    cy = np.array([f.centroid.y for f in fields])
    i, j = g.cell_of(*to_ll.transform(cx, cy))
    rain = g.precipitation[:, i, j].T.astype(np.float64)  # (fields, days)
    two = rain + np.concatenate([np.zeros((len(fields), 1)), rain[:, :-1]], axis=1)
    rise = np.clip(1.5 + 0.1 * (two - WET_MM), 1.5, 4.0) * rng.uniform(0.8, 1.2, (len(fields), 1))
    return np.where(two >= WET_MM, rise, 0.0).astype(np.float32)


def build_rain_season(out_dir: Path, *, seed: int, n_parcels: int = 400, n_s2_dates: int = 64,
                      n_s1_dates: int = 64) -> dict[str, Any]:
    """Write the SYNTHETIC "rain" season (demo layout plus ``weather.nc``); its ground truth."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = DemoParams(seed, n_parcels, n_s2_dates, n_s1_dates)
    world, ps = season_world(params, out_dir, RAIN)
    rng = rng_for(seed, STREAM_SEASON, 7)
    g = showers(params, rng)
    world = replace(world, season=replace(world.season, wet=wet_db(g, ps.fields, rng)))
    write_weather(out_dir / "weather.nc", g)
    gdf, broken = to_geodataframe(ps)
    write_parcels(gdf, out_dir / "parcels.gpkg")
    s2 = [render_s2(world, i, a) for i, a in enumerate(s2_calendar(n_s2_dates))]
    s1 = [render_s1(world, i, a) for i, a in enumerate(s1_calendar(n_s1_dates))]
    write_stac(out_dir, params, s2, s1)
    doc = ground_truth(ps, world.state, params, broken) | {"season": RAIN.to_dict() | {
        "showers": {"spell_p": SPELL_P, "wet_mm": WET_MM, "weather": "weather.nc"}}}
    write_truth(out_dir, doc)
    write_readme(out_dir, params, (ORIGIN_X, ORIGIN_Y), S1_RES)
    log.info("season rain: %d parcels, %.0f %% of field-days wet on S1", n_parcels,
             100 * float((world.season.wet > 0).mean()))
    return doc
