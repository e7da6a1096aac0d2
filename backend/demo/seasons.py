"""Harder, opt-in demo seasons: rain on S1, grazing, partial cuts, more cloud and unflagged haze.

The default demo (``build_demo``) never uses this module, so its output does not change.
``build_season`` writes the same folder layout (parcels, COGs, STAC, ground truth) from the
same parcels and base world, then changes what a real season changes:

- rain-wetted Sentinel-1 dates: backscatter raised 1-3 dB over the whole area for a day or two
  (each field by its own factor);
- grazing (a slow decline, no regrowth jump), partial cuts, other cut calendars, cereal
  harvests shifted, ploughing or discing after potato / beet lifting (the surface stays bare);
- about 58 % cloudy Sentinel-2 dates (flagged in SCL) and unflagged area-wide haze.

Ground truth gets ``grazing`` events besides the usual ones.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from backend.demo.atmosphere import Sky, _opacity
from backend.demo.crops import group_index
from backend.demo.noise import smooth_noise
from backend.demo.params import (
    N_DAYS,
    ORIGIN_X,
    ORIGIN_Y,
    RES_10,
    S1_RES,
    STREAM_PARCELS,
    DemoParams,
    rng_for,
)
from backend.demo.parcels import make_parcels, to_geodataframe, write_parcels
from backend.demo.phenology import disturbed
from backend.demo.s1 import render_s1
from backend.demo.s2 import render_s2
from backend.demo.schedule import s1_calendar, s2_calendar
from backend.demo.season_state import FieldRules, harden_state
from backend.demo.stac import write_stac
from backend.demo.truth import ground_truth, write_readme, write_truth
from backend.demo.world import World, make_world

log = logging.getLogger(__name__)

STREAM_SEASON = 101
"""Random streams of the harder seasons (well apart from the default demo's 1..7)."""


@dataclass(frozen=True)
class Season:
    """Parameters of a harder season.

    Attributes:
        name: Short name (printed by the bench).
        wet_spell_p: Daily probability that a wet spell starts (S1 backscatter raised).
        wet_db: Range of the area-wide rise in dB of a wet spell.
        cloudy_p: Share of S2 dates that get an extra cloud deck (with the default's own clouds
            this gives about 58 % cloudy dates for 0.45).
        haze_p: Share of S2 dates with an area-wide haze the SCL does not flag.
        haze: Range of that haze's opacity.
        fields: Management of the fields.
    """

    name: str
    wet_spell_p: float = 0.08
    wet_db: tuple[float, float] = (1.0, 3.0)
    cloudy_p: float = 0.45
    haze_p: float = 0.15
    haze: tuple[float, float] = (0.04, 0.12)
    fields: FieldRules = field(default_factory=FieldRules)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return asdict(self)


SEASONS = {
    "wet": Season("wet", wet_spell_p=0.1, cloudy_p=0.3),
    "cloudy": Season("cloudy", wet_spell_p=0.06, cloudy_p=0.4, haze_p=0.25,
                     fields=FieldRules(grazed_share=0.45, partial_share=0.4, first_cut=(120, 170))),
    "validation": Season("validation", wet_spell_p=0.08, wet_db=(1.0, 2.5), cloudy_p=0.35, haze_p=0.2,
                         fields=FieldRules(grazed_share=0.3, partial_share=0.35, first_cut=(105, 150),
                                           cut_gap=(30, 50), cereal_shift=(-6, 10))),
    "late": Season("late", wet_spell_p=0.12, wet_db=(1.5, 3.0), cloudy_p=0.5, haze_p=0.1,
                   fields=FieldRules(grazed_share=0.25, partial_share=0.5, first_cut=(130, 180),
                                     cut_gap=(25, 40), root_plough_share=0.7, cereal_shift=(0, 14))),
}
"""Named seasons: the bench reports on ``wet``, ``cloudy`` and ``late`` (later cuts and cereals,
more partial cuts, more rain and cloud); ``validation`` is for calibration."""


@dataclass(frozen=True)
class SeasonHooks:
    """What the renderers ask of a season (``World.season``)."""

    season: Season
    seed: int
    wet: np.ndarray  # (n_fields, N_DAYS) dB added to S1 backscatter

    def s1_sigma(self, w: World, day: int, sigma: np.ndarray) -> np.ndarray:
        """Backscatter of a date raised by the wet spell (field pixels by their field's factor)."""
        lay = w.layer_s1
        rise = np.where(lay.labels > 0, self.wet[np.maximum(lay.labels - 1, 0), day],
                        float(np.median(self.wet[:, day])))
        return np.asarray(sigma * 10 ** (rise / 10.0), np.float32)

    def sky(self, w: World, index: int, day: int, sky: Sky) -> Sky:
        """The date's sky with an extra cloud deck (flagged) and unflagged haze, by chance."""
        rng = rng_for(self.seed, STREAM_SEASON, 1, index)
        shape = sky.cloud.shape
        cloud, haze = sky.cloud, sky.haze
        if rng.random() < self.season.cloudy_p:
            extra = _opacity(smooth_noise(rng, shape, 300.0 / RES_10 * 3, 4), float(rng.uniform(0.5, 1.0)))
            cloud = np.maximum(cloud, extra)
        if rng.random() < self.season.haze_p:
            h = float(rng.uniform(*self.season.haze))
            haze = np.maximum(haze, h * np.clip(0.8 + 0.2 * smooth_noise(rng, shape, 400.0), 0, 1))
        return replace(sky, cloud=cloud.astype(np.float32), haze=haze.astype(np.float32))


def wet_spells(rng: np.random.Generator, n_fields: int, s: Season) -> np.ndarray:
    """(n_fields, N_DAYS) dB rise of S1 backscatter: area-wide spells of 1-2 days, per-field factor."""
    area = np.zeros(N_DAYS)
    d = 0
    while d < N_DAYS:
        if rng.random() < s.wet_spell_p:
            rise, length = float(rng.uniform(*s.wet_db)), int(rng.integers(1, 3))
            area[d:d + length] = np.maximum(area[d:d + length], rise)
            area[d + length:d + length + 1] = np.maximum(area[d + length:d + length + 1], 0.4 * rise)
            d += length + 1
        d += 1
    factor = rng.uniform(0.7, 1.3, n_fields)[:, None]
    return np.asarray(area[None, :] * factor, np.float32)


def season_world(params: DemoParams, out_dir: Path, season: Season) -> tuple[World, Any]:
    """The demo's parcels and base world, with the season's states and hooks."""
    ps = make_parcels(params, rng_for(params.seed, STREAM_PARCELS))
    base = make_world(params, out_dir, ps)
    rng = rng_for(params.seed, STREAM_SEASON, 0)
    state = harden_state(base.state, group_index(ps.true_crop), rng, season.fields)
    hooks = SeasonHooks(season, params.seed, wet_spells(rng, len(ps.fields), season))
    return replace(base, state=state, disturbed=disturbed(state), season=hooks), ps


def build_season(out_dir: Path, season: Season | str, *, seed: int, n_parcels: int = 400,
                 n_s2_dates: int = 64, n_s1_dates: int = 64) -> dict[str, Any]:
    """Write a SYNTHETIC harder season (same layout as the demo) and return its ground truth.

    Args:
        out_dir: Output folder (created; existing outputs are overwritten).
        season: A :class:`Season` or the name of one of :data:`SEASONS`.
        seed: Seed of every random stream.
        n_parcels: Declared parcels.
        n_s2_dates: Sentinel-2 dates.
        n_s1_dates: Sentinel-1 dates.
    """
    s = SEASONS[season] if isinstance(season, str) else season
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = DemoParams(seed, n_parcels, n_s2_dates, n_s1_dates)
    world, ps = season_world(params, out_dir, s)
    gdf, broken = to_geodataframe(ps)
    write_parcels(gdf, out_dir / "parcels.gpkg")
    s2 = [render_s2(world, i, a) for i, a in enumerate(s2_calendar(n_s2_dates))]
    s1 = [render_s1(world, i, a) for i, a in enumerate(s1_calendar(n_s1_dates))]
    write_stac(out_dir, params, s2, s1)
    doc = ground_truth(ps, world.state, params, broken) | {"season": s.to_dict()}
    write_truth(out_dir, doc)
    write_readme(out_dir, params, (ORIGIN_X, ORIGIN_Y), S1_RES)
    cloudy = sum(img.cloud_cover > 30 for img in s2) / max(len(s2), 1)
    log.info("season %s: %d parcels, %.0f %% cloudy S2 dates", s.name, n_parcels, 100 * cloudy)
    return doc
