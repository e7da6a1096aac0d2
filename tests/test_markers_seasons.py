"""The opt-in harder seasons (backend.demo.seasons) change what they say and leave the demo alone."""

from __future__ import annotations

import numpy as np
import pytest

from backend.demo.crops import GROUPS, group_index
from backend.demo.params import STREAM_PARCELS, DemoParams, rng_for
from backend.demo.parcels import make_parcels
from backend.demo.s1 import backscatter
from backend.demo.seasons import SEASONS, season_world, wet_spells
from backend.demo.world import make_world


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory):
    params = DemoParams(seed=11, n_parcels=60, n_s2_dates=8, n_s1_dates=8)
    out = tmp_path_factory.mktemp("season")
    base = make_world(params, out, make_parcels(params, rng_for(params.seed, STREAM_PARCELS)))
    hard, ps = season_world(params, out, SEASONS["wet"])
    return base, hard, group_index(ps.true_crop)


def test_default_world_has_no_season(worlds) -> None:
    base, _, _ = worlds
    assert base.season is None


def test_grazing_is_a_slow_decline_without_mowing(worlds) -> None:
    _, hard, groups = worlds
    grass = np.flatnonzero(groups == GROUPS.index("grassland"))
    grazed = [i for i in grass if {k for _, k in hard.state.events[i]} == {"grazing"}]
    assert grazed, "the wet season grazes some grassland fields without cutting them"
    for i in grazed:
        g = hard.state.green[i].astype(float)
        start = next(d for d, k in hard.state.events[i] if k == "grazing")
        daily = np.diff(g[start:start + 60])
        assert daily.min() > -0.02  # never a cut-like jump down
        assert g[start] - g[start:start + 60].min() > 0.1  # but a clear decline
        assert not hard.disturbed[i].any()


def test_wet_spells_raise_backscatter_area_wide(worlds) -> None:
    base, hard, _ = worlds
    wet = hard.season.wet
    day = int(np.argmax(wet.mean(axis=0)))
    assert 0.7 <= wet[:, day].mean() <= 3.0
    fields = hard.layer_s1.labels > 0
    rise = 10 * np.log10(backscatter(hard, day, "VH", False) / backscatter(base, day, "VH", False))
    assert np.median(rise[fields]) > 0.7


def test_wet_spells_follow_their_parameters() -> None:
    wet = wet_spells(np.random.default_rng(3), 50, SEASONS["wet"])
    area = wet.mean(axis=0)
    spells = np.flatnonzero((area > 0.9) & (np.r_[0, area[:-1]] <= 0.9))
    assert 15 <= spells.size <= 60  # ~ one spell every 8-12 days
    assert wet.max() <= 3.0 * 1.3 + 1e-6


def test_area_wide_change_is_removed_and_own_change_kept() -> None:
    from backend.markers.radar import area_corrected

    rng = np.random.default_rng(0)
    db = -15 + rng.normal(0, 0.3, (60, 40))
    db[:, 20] += 2.5  # every parcel wet on date 20
    db[:5, 30:] -= 3.0  # five parcels mown on date 30 (stays low)
    out, level = area_corrected(db)
    assert 2.0 < level[20] < 3.0
    assert abs(out[:, 20] - out[:, 19]).mean() < 0.6
    own = (out[:5, 29] - out[:5, 30]).mean()
    assert own > 2.4  # the parcels' own drop survives
    few, lv = area_corrected(db[:10])
    assert np.array_equal(few, db[:10]) and not lv.any()  # too few parcels for an area level
