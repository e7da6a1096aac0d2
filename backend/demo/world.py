"""Everything a date renderer needs, built once per demo build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.demo.crops import group_index
from backend.demo.params import (
    RES_10,
    S1_RES,
    STREAM_PHENOLOGY,
    STREAM_SCENE,
    STREAM_WEATHER,
    DemoParams,
    grid,
    rng_for,
)
from backend.demo.parcels import ParcelSet
from backend.demo.phenology import State, disturbed, simulate, weather
from backend.demo.scene import Layer, make_layer


@dataclass(frozen=True)
class World:
    """Static inputs of the image renderers.

    Attributes:
        params: Build parameters.
        out_dir: Output directory.
        parcels: Fields and declarations.
        state: Daily crop state of every field.
        layer10: Static rasters on the 10 m grid (Sentinel-2).
        layer_s1: Static rasters on the Sentinel-1 grid.
        soil_brightness: Per-field soil brightness factor.
        rain: Daily rain flag.
        moisture: Daily soil moisture (0..1).
        disturbed: (n_fields, days) surface-changing event on that day.
        season: Hooks of an opt-in harder season (``backend.demo.seasons``); None for the demo.
    """

    params: DemoParams
    out_dir: Path
    parcels: ParcelSet
    state: State
    layer10: Layer
    layer_s1: Layer
    soil_brightness: np.ndarray
    rain: np.ndarray
    moisture: np.ndarray
    disturbed: np.ndarray
    season: Any = None


def make_world(params: DemoParams, out_dir: Path, parcels: ParcelSet) -> World:
    """Simulate crop states and weather and rasterise the static layers.

    Args:
        params: Build parameters.
        out_dir: Output directory.
        parcels: The generated parcel set.
    """
    state = simulate(rng_for(params.seed, STREAM_PHENOLOGY), group_index(parcels.true_crop))
    rng = rng_for(params.seed, STREAM_SCENE)
    g10, g1 = grid(params, RES_10), grid(params, S1_RES)
    layer10 = make_layer(g10, parcels.fields, parcels.water, parcels.roads, rng)
    layer_s1 = make_layer(g1, parcels.fields, parcels.water, parcels.roads, rng)
    soil = rng.uniform(0.85, 1.15, len(parcels.fields)).astype(np.float32)
    rain, moist = weather(rng_for(params.seed, STREAM_WEATHER))
    return World(params, out_dir, parcels, state, layer10, layer_s1, soil, rain, moist,
                 disturbed(state))
