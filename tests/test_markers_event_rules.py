"""Event types by crop and season (catalogue ``events`` rules, backend.markers.seasonal)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from backend.markers.conditions import CatalogueError
from backend.markers.conditions_yaml import load_catalogue, parse_catalogue
from backend.markers.pipeline import compute_markers
from backend.markers.seasonal import restrict_events

sys.path.insert(0, str(Path(__file__).parent / "markers"))
from series_factory import regrow, s1_sensors, s2_sensor, series

DEMO = Path(__file__).resolve().parents[1] / "backend" / "markers" / "catalogues" / "demo_2025.yaml"
HEAD = """catalogue: t
scheme: s
year: 2025
version: "1"
conditions:
  - {id: crop_ok, rule: crop_consistency}
"""


def _mown(crop: str, cut: int):
    s2 = s2_sensor(regrow(cut, 0.3, 8.0, 0.8))
    m = compute_markers(series(s2, s1_sensors(regrow(cut, 4.0, 8.0, -15.0))), np.array([crop], object))
    return m, np.array([crop], object)


def test_mowing_kept_on_grassland_in_season() -> None:
    cat = load_catalogue(DEMO)
    m, crops = _mown("265", 160)
    assert len(m.of("mowing", 0)) == 1
    assert restrict_events(m, cat, crops).of("mowing", 0) == m.of("mowing", 0)


def test_mowing_of_winter_wheat_or_out_of_season_is_dropped() -> None:
    cat = load_catalogue(DEMO)
    m, crops = _mown("233", 160)  # the same signal declared as winter wheat
    assert len(m.of("mowing", 0)) == 1
    assert restrict_events(m, cat, crops).of("mowing", 0) == []
    m, crops = _mown("265", 320)  # a grassland "cut" in mid-November
    assert m.of("mowing", 0) and restrict_events(m, cat, crops).of("mowing", 0) == []


def test_without_rules_nothing_is_removed() -> None:
    cat = parse_catalogue(HEAD)
    m, crops = _mown("233", 160)
    assert cat.events == () and restrict_events(m, cat, crops) is m


def test_events_rules_parsed_and_refused_with_line() -> None:
    rule = "  - {marker: harvest, crops: ['233'], window: [2025-06-20, 2025-09-30]}\n"
    cat = parse_catalogue(HEAD + "events:\n" + rule)
    (r,) = cat.events
    assert (r.marker, r.crops, r.window[0].isoformat(), r.line) == ("harvest", ("233",), "2025-06-20", 8)
    with pytest.raises(CatalogueError, match="line 8: events rule for unknown marker 'grazing'"):
        parse_catalogue(HEAD + "events:\n  - {marker: grazing, crops: ['265']}\n")
    with pytest.raises(CatalogueError, match="line 8: events rule needs 'crops' or 'groups'"):
        parse_catalogue(HEAD + "events:\n  - {marker: mowing}\n")


def test_crop_groups_parsed_resolved_and_never_left_unresolved() -> None:
    from backend.errors import InvalidInput

    cat = parse_catalogue(HEAD.replace("  - {id: crop_ok, rule: crop_consistency}\n",
                                       "  - {id: mown, rule: event_count, marker: mowing, window: "
                                       "[2025-06-01, 2025-08-15], min_count: 1, applies_to: "
                                       "{groups: [grassland], crops: ['x']}}\n")
                          + "events:\n  - {marker: mowing, groups: [grassland, fallow]}\n")
    assert not cat.groups_resolved
    with pytest.raises(InvalidInput, match="resolve them with the set's crop table"):
        cat.check_resolved()
    with pytest.raises(InvalidInput, match="no crop table with groups"):
        cat.with_crop_groups({}, "mk 2025")
    done = cat.with_crop_groups({"265": "grassland", "662": "fallow", "233": "arable"}, "mk 2025")
    done.check_resolved()
    assert done.conditions[0].crops == ("x", "265") and done.events[0].crops == ("265", "662")
    assert done.conditions[0].applies("265") and not done.conditions[0].applies("233")
    assert load_catalogue(DEMO).with_crop_groups({}, "mk 2025").groups_resolved  # no groups: as it is
    with pytest.raises(CatalogueError, match="line 8: unknown crop group 'meadow'"):
        parse_catalogue(HEAD + "events:\n  - {marker: mowing, groups: [meadow]}\n")
