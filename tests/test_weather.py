"""``cbm import weather``: NetCDF grids and station CSVs stored per cell, parcels linked by area."""

from __future__ import annotations

import numpy as np
import pytest
from weathertools import (
    DAYS,
    LATS,
    LONS,
    PARCELS,
    UNITS,
    cell_of,
    cell_polygon,
    grid_values,
    lonlat_box,
    parcel_set,
    write_grid,
)

from backend.ancillary import import_weather
from backend.cli import main
from backend.db import connect
from backend.db import queries_ancillary as q
from backend.errors import AlreadyExists, InvalidInput

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]


def links(settings, set_id: int) -> dict[str, dict[int, float]]:
    with connect(settings) as c:
        rows = c.execute("SELECT p.pid, l.cell, l.weight FROM weather_links l JOIN weather_sources s "
                         "ON s.id = l.source_id JOIN parcels p ON p.set_id = s.set_id AND p.id = l.parcel_id "
                         "WHERE s.set_id = %s", (set_id,)).fetchall()
    out: dict[str, dict[int, float]] = {}
    for r in rows:
        out.setdefault(r["pid"], {})[r["cell"]] = r["weight"]
    return out


def series(settings, set_id: int, pid: str) -> dict[str, dict[float, np.ndarray]]:
    """variable -> {weight: values} of a parcel's linked cells."""
    with connect(settings) as c:
        rows = q.parcel_weather(c, set_id, pid)
    out: dict[str, dict[float, np.ndarray]] = {}
    for r in rows:
        out.setdefault(r["variable"], {})[r["weight"]] = np.frombuffer(r["vals"], "<f4")
    return out


def stored_state(settings) -> list:
    with connect(settings) as c:
        return [c.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                for t in ("weather_sources", "weather_series", "weather_links")]


def test_grid_import_converts_units_and_weights_parcels_by_area(clean_db, tmp_path):
    set_id = parcel_set(clean_db, tmp_path)
    values = grid_values()
    r = import_weather(clean_db, write_grid(tmp_path / "agera5.nc", values), aoi="wx", year=2025)
    assert r.kind == "grid" and r.n_days == len(DAYS) and r.first_day == "2025-01-01"
    assert r.variables == {"precipitation": "mm/day", "tmean": "°C", "tmin": "°C", "tmax": "°C",
                           "wind_speed_10m_mean": "m/s"}
    # A lies in one cell: weight 1, the file's values in the stored unit
    i, j = cell_of(4.955, 52.005)
    a = series(clean_db, set_id, "A")
    assert list(a["tmean"]) == [1.0]
    kelvin = values["Temperature_Air_2m_Mean_24h"][:, i, j].astype(np.float64)
    np.testing.assert_array_equal(a["tmean"][1.0], (kelvin - 273.15).astype(np.float32))
    np.testing.assert_array_equal(a["precipitation"][1.0], values["Precipitation_Flux"][:, i, j])
    np.testing.assert_array_equal(a["tmax"][1.0],
                                  (values["Temperature_Air_2m_Max_24h"][:, i, j].astype(np.float64)
                                   - 273.15).astype(np.float32))
    # B spans two cells: weights are the shares of its area in each (shapely, independently)
    b = links(clean_db, set_id)["B"]
    assert len(b) == 2
    bi, _ = cell_of(4.9602, 52.015)
    for j2 in (cell_of(4.955, 52.015)[1], cell_of(4.965, 52.015)[1]):
        share = PARCELS["B"].intersection(cell_polygon(bi, j2)).area / PARCELS["B"].area
        assert b[bi * len(LONS) + j2] == pytest.approx(share, rel=1e-6)
    # only the cells parcels are linked to are stored: 4 cells x 5 variables
    assert r.n_cells == 4 and stored_state(clean_db) == [1, 20, 4]


def test_station_csv_links_the_nearest_station(clean_db, tmp_path):
    set_id = parcel_set(clean_db, tmp_path)
    path = tmp_path / "stations.csv"
    lines = ["station,lon,lat,date,precipitation (mm),tmax (degC),tmin (K)"]
    for s, (lon, lat) in {"north": (4.955, 52.02), "south": (4.92, 51.96)}.items():
        for d, day in enumerate(DAYS):
            lines.append(f"{s},{lon},{lat},{day:%Y-%m-%d},{d * 0.5 + (s == 'north')},{d + 0.25},{280 + d}")
    path.write_text("\n".join(lines) + "\n")
    r = import_weather(clean_db, path, aoi="wx", year=2025)
    assert r.kind == "stations" and r.n_cells == 2 and r.variables["tmin"] == "°C"
    a, c = series(clean_db, set_id, "A"), series(clean_db, set_id, "C")
    days = np.arange(len(DAYS))
    np.testing.assert_array_equal(a["precipitation"][1.0], (days * 0.5 + 1).astype(np.float32))
    np.testing.assert_array_equal(c["precipitation"][1.0], (days * 0.5).astype(np.float32))
    np.testing.assert_array_equal(c["tmin"][1.0], (280.0 + days - 273.15).astype(np.float32))


def run(args: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0), capsys.readouterr().err


@pytest.fixture()
def with_weather(clean_db, tmp_path, monkeypatch):
    """A parcel set with weather imported (what a bad import must leave as it is)."""
    from backend.db import database_url
    from backend.settings import get_settings

    monkeypatch.setenv("CBM_DATABASE_URL", database_url(clean_db))
    get_settings.cache_clear()
    parcel_set(clean_db, tmp_path)
    import_weather(clean_db, write_grid(tmp_path / "good.nc"), aoi="wx", year=2025)
    yield clean_db
    get_settings.cache_clear()


def _bad_cases(tmp_path):
    values = grid_values()
    gap = DAYS.delete(5)
    csv = tmp_path / "gap.csv"
    csv.write_text("station,lon,lat,date,precipitation (mm)\n" + "".join(
        f"s1,4.95,52.0,{d:%Y-%m-%d},1.0\n" for d in gap))
    return {
        "no time axis": (write_grid(tmp_path / "notime.nc", with_time=False), "no time axis"),
        "no coordinates": (write_grid(tmp_path / "nocoords.nc", with_coords=False), "no lon/lat"),
        "unknown units": (write_grid(tmp_path / "units.nc", units={**UNITS, "Precipitation_Flux": "inch"}),
                          "units 'inch' not recognised"),
        "not covering": (write_grid(tmp_path / "small.nc", {k: v[:, :, :6] for k, v in values.items()},
                                    lons=LONS[:6]), "does not cover 1 parcel(s) of wx 2025 (e.g. B)"),
        "csv missing day": (csv, "2025-01-05 is followed by 2025-01-07"),
    }


def test_bad_files_are_refused_with_exit_65_and_nothing_changes(with_weather, tmp_path, capsys):
    before = stored_state(with_weather)
    for case, (path, message) in _bad_cases(tmp_path).items():
        code, err = run(["import", "weather", str(path), "--aoi", "wx", "--year", "2025", "--replace"],
                        capsys)
        assert code == 65, (case, err)
        assert message in err and err.startswith("error: "), (case, err)
        assert len(err.strip().splitlines()) == 1, (case, err)
        assert stored_state(with_weather) == before, case


def test_existing_weather_needs_replace_and_unknown_set_is_66(with_weather, tmp_path, capsys):
    path = write_grid(tmp_path / "again.nc")
    with pytest.raises(AlreadyExists):
        import_weather(with_weather, path, aoi="wx", year=2025)
    code, err = run(["import", "weather", str(path), "--aoi", "wx", "--year", "2025"], capsys)
    assert code == 73 and "--replace" in err
    code, err = run(["import", "weather", str(path), "--aoi", "zz", "--year", "2025"], capsys)
    assert code == 66 and "no parcel set zz 2025" in err


def test_missing_value_in_a_linked_cell_is_refused(clean_db, tmp_path):
    parcel_set(clean_db, tmp_path, {"A": lonlat_box(4.955, 52.005)})
    values = grid_values()
    i, j = cell_of(4.955, 52.005)
    values["Precipitation_Flux"][3, i, j] = np.nan
    values["Precipitation_Flux"][3, 0, 0] = np.nan  # no parcel there: fine on its own
    with pytest.raises(InvalidInput, match="has no value on 2025-01-04"):
        import_weather(clean_db, write_grid(tmp_path / "nan.nc", values), aoi="wx", year=2025)
    assert stored_state(clean_db) == [0, 0, 0]
    assert LATS[i] == pytest.approx(52.005) and LONS[j] == pytest.approx(4.955)
