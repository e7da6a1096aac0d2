"""Weather on S1 events: rain or frost at an event's S1 dates lowers its confidence, in plain words."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from backend.markers.conditions import CatalogueError, WeatherRule
from backend.markers.conditions_yaml import parse_catalogue
from backend.markers.events import Event
from backend.markers.pipeline import Markers
from backend.markers.weather import ParcelWeather, flag_weather, load_weather

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CAT = """catalogue: t
scheme: s
year: 2025
version: "1"
conditions:
  - {id: mown, rule: event_count, marker: mowing, window: [2025-04-01, 2025-07-31], min_count: 1}
weather: {rain_mm: 5, rain_days: 2, frost_c: 0, s1_factor: 0.5, s2_factor: 0.9}
"""


def doy(m: int, d: int) -> int:
    return (date(2025, m, d) - date(2025, 1, 1)).days


def test_catalogue_weather_section_and_its_refusals():
    assert parse_catalogue(CAT).weather == WeatherRule(5.0, 2, 0.0, 0.5, 0.9, line=7)
    assert parse_catalogue(CAT.replace("weather: {rain_mm: 5, rain_days: 2, frost_c: 0, s1_factor: 0.5, "
                                       "s2_factor: 0.9}\n", "")).weather is None
    with pytest.raises(CatalogueError, match=r"line 7: weather\.s1_factor and weather\.s2_factor must be"):
        parse_catalogue(CAT.replace("s1_factor: 0.5", "s1_factor: 1.5"))
    with pytest.raises(CatalogueError, match="unknown key 'snow_cm' in weather"):
        parse_catalogue(CAT.replace("frost_c: 0", "snow_cm: 3"))


def test_rain_and_frost_flag_s1_events_only():
    p = np.zeros((3, 365))
    p[0, doy(5, 13)], p[0, doy(5, 14)] = 3.0, 4.5  # 7.5 mm over 13-14 May: significant
    p[1, doy(5, 14)] = 4.0  # 4 mm: not
    p[2, doy(5, 14)] = 30.0
    t = np.full((3, 365), 8.0)
    t[1, doy(3, 3)] = -2.5
    w = ParcelWeather(0, p, t)
    may = {"s1_days": [doy(5, 8), doy(5, 14)]}
    s1 = Event(0, "mowing", doy(5, 12), doy(5, 9), doy(5, 14), 0.6, "s1", may)
    s2s1 = Event(0, "mowing", doy(5, 12), doy(5, 9), doy(5, 14), 0.9, "s2+s1", may)
    dry = Event(1, "mowing", doy(5, 12), doy(5, 9), doy(5, 14), 0.6, "s1", may)
    frost = Event(1, "ploughing", doy(3, 1), doy(2, 26), doy(3, 3), 0.8, "s1",
                  {"s1_days": [doy(2, 25), doy(3, 3)]})
    s2 = Event(2, "mowing", doy(5, 12), doy(5, 9), doy(5, 14), 0.7, "s2", {"s2_days": may["s1_days"]})
    m = Markers(SimpleNamespace(year=2025), None, None,  # type: ignore[arg-type]
                {"mowing": {0: [s1, s2s1], 1: [dry], 2: [s2]}, "ploughing": {1: [frost]}}, None, None)
    out = flag_weather(m, WeatherRule(), w)
    a, b = out.events["mowing"][0]
    assert (a.confidence, a.evidence["weather"], a.evidence["confidence_without_weather"]) == (
        0.3, ["rain 8 mm on 13-14 May"], 0.6)
    assert (b.confidence, b.evidence["weather"]) == (0.81, ["rain 8 mm on 13-14 May"])
    assert out.events["mowing"][1] == [dry] and out.events["mowing"][2] == [s2]
    f = out.events["ploughing"][1][0]
    assert (f.confidence, f.evidence["weather"]) == (0.4, ["frost (-2.5 °C) on 3 Mar"])


def test_parcel_weather_is_the_area_weighted_mix_of_its_cells(clean_db, tmp_path):
    from weathertools import PARCELS, grid_values, parcel_set, write_grid

    from backend.ancillary import import_weather
    from backend.db import connect

    set_id = parcel_set(clean_db, tmp_path)
    values = grid_values()
    import_weather(clean_db, write_grid(tmp_path / "g.nc", values), aoi="wx", year=2025)
    with connect(clean_db) as c:
        ids = np.array([r["id"] for r in c.execute("SELECT id FROM parcels WHERE set_id = %s ORDER BY id",
                                                    (set_id,)).fetchall()])
        w = load_weather(c, set_id, ids, 2025)
        served = {pid: c.execute("SELECT id FROM parcels WHERE pid = %s", (pid,)).fetchone()["id"]
                  for pid in PARCELS}
    from backend.ancillary.weather_series import weather_columns

    with connect(clean_db) as c:
        for pid, pk in served.items():
            cols = weather_columns(c, set_id, pid)
            row = int(np.flatnonzero(ids == pk)[0])
            np.testing.assert_allclose(w.precipitation[row], cols["precipitation"], rtol=1e-6)
            np.testing.assert_allclose(w.tmin[row], cols["tmin"], rtol=1e-6)
    assert w.first_day == 0 and w.precipitation.shape == (3, 12)
