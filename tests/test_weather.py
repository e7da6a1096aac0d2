"""``cbm import weather``: NetCDF grids and station CSVs stored per cell, parcels linked by area."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from clitools import assert_needs_replace_and_a_known_set, assert_refused_unchanged, cli_on
from pyproj import CRS, Transformer
from weathertools import (
    DAYS,
    LATS,
    LONS,
    PARCELS,
    UNITS,
    UTM,
    cell_of,
    grid_values,
    lonlat_box,
    parcel_set,
    write_grid,
)

from backend.ancillary import import_weather
from backend.ancillary.weather_series import weather_columns
from backend.db import connect
from backend.db import queries_ancillary as q
from backend.errors import AlreadyExists, InvalidInput
from backend.parcels import import_parcels

COMMAND = ("import", "weather")
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


def true_share(parcel: shapely.Polygon, i: int, j: int) -> float:
    """Share of a UTM parcel's area in lon/lat cell (i, j), edges densified both ways (no chords)."""
    to_ll = Transformer.from_crs(UTM, 4326, always_xy=True)
    to_utm = Transformer.from_crs(4326, UTM, always_xy=True)
    cell = shapely.box(LONS[j] - 0.005, LATS[i] - 0.005, LONS[j] + 0.005, LATS[i] + 0.005)
    ll = shapely.transform(shapely.segmentize(parcel, 0.1), lambda p: np.column_stack(to_ll.transform(*p.T)))
    piece = shapely.segmentize(ll.intersection(cell), 1e-6)
    back = shapely.transform(piece, lambda p: np.column_stack(to_utm.transform(*p.T)))
    return float(back.area / parcel.area)


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
        assert b[bi * len(LONS) + j2] == pytest.approx(true_share(PARCELS["B"], bi, j2), rel=1e-6)
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


@pytest.fixture()
def with_weather(clean_db, tmp_path, monkeypatch):
    """A parcel set with weather imported (what a bad import must leave as it is)."""
    with cli_on(clean_db, monkeypatch):
        parcel_set(clean_db, tmp_path)
        import_weather(clean_db, write_grid(tmp_path / "good.nc"), aoi="wx", year=2025)
        yield clean_db


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
    assert_refused_unchanged(COMMAND, "wx", 2025, _bad_cases(tmp_path), lambda: stored_state(with_weather),
                             capsys)


def test_existing_weather_needs_replace_and_unknown_set_is_66(with_weather, tmp_path, capsys):
    path = write_grid(tmp_path / "again.nc")
    with pytest.raises(AlreadyExists):
        import_weather(with_weather, path, aoi="wx", year=2025)
    assert_needs_replace_and_a_known_set(COMMAND, path, "wx", 2025, capsys)


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


# ----------------------------------------------------------------------------- grid edge cases
KM = 1000.0
X0, Y0 = 620_000.0, 5_765_000.0  # top-left corner of a 4 x 3 grid of 1 km cells in UTM 31N


def grid_file(path, xs: np.ndarray, ys: np.ndarray, values: np.ndarray, crs: CRS):
    """A daily precipitation grid on projected x/y centres with a CF grid mapping (crs_wkt)."""
    var = (("time", "y", "x"), values.astype(np.float32), {"units": "mm d-1", "grid_mapping": "crs"})
    ds = xr.Dataset({"Precipitation_Flux": var, "crs": ((), 0, {"crs_wkt": crs.to_wkt()})},
                    coords={"time": DAYS, "x": ("x", xs), "y": ("y", ys)})
    ds.to_netcdf(path)
    return path


def write_utm_grid(path):
    """A 4 x 3 grid of 1 km cells (rows north to south), precipitation = cell number + day / 100."""
    xs, ys = X0 + KM * (np.arange(4) + 0.5), Y0 - KM * (np.arange(3) + 0.5)
    values = np.arange(12).reshape(1, 3, 4) + np.arange(len(DAYS)).reshape(-1, 1, 1) / 100
    return grid_file(path, xs, ys, values, CRS.from_epsg(UTM))


def box(x: float, y: float, w: float = 100.0, h: float = 100.0) -> shapely.Polygon:
    """A parcel with its lower-left corner at (x, y) metres from the grid's top-left corner (y down)."""
    return shapely.box(X0 + x, Y0 - y - h, X0 + x + w, Y0 - y)


def test_parcels_on_cell_borders_get_exact_shares(clean_db, tmp_path):
    parcels = {"left_edge_on_border": box(1 * KM, 500),  # inside column 1, its left edge on the border
               "right_edge_on_border": box(KM - 100, 500),  # inside column 0
               "halves": box(2 * KM - 50, 500),  # half in column 1, half in column 2
               "quarters": box(KM - 50, 1 * KM - 50),  # on the corner of 4 cells
               "grid_corner": box(4 * KM - 100, 3 * KM - 100),  # in the last cell, on the grid's outer corner
               "top_left": box(0, 0)}
    set_id = parcel_set(clean_db, tmp_path, parcels)
    import_weather(clean_db, write_utm_grid(tmp_path / "utm.nc"), aoi="wx", year=2025)
    got = links(clean_db, set_id)
    assert got == {"left_edge_on_border": {1: 1.0}, "right_edge_on_border": {0: 1.0},
                   "halves": {1: 0.5, 2: 0.5}, "quarters": {0: 0.25, 1: 0.25, 4: 0.25, 5: 0.25},
                   "grid_corner": {11: 1.0}, "top_left": {0: 1.0}}
    with connect(clean_db) as c:  # served: the area-weighted mean of cells 1 and 2
        served = weather_columns(c, set_id, "halves")["precipitation"]
    days = np.arange(len(DAYS), dtype=np.float32) / np.float32(100)
    expected = (np.float32(1) + days).astype(np.float64) / 2 + (np.float32(2) + days).astype(np.float64) / 2
    np.testing.assert_allclose(served, expected, rtol=1e-12)


def test_parcels_outside_the_grid_are_refused_by_name(clean_db, tmp_path):
    parcels = {"inside": box(500, 500), "across_the_edge": box(4 * KM - 50, 500),
               "beyond": box(5 * KM, 500), "above": box(500, -300)}
    parcel_set(clean_db, tmp_path, parcels)
    with pytest.raises(InvalidInput, match=r"does not cover 3 parcel\(s\) of wx 2025 \(e.g. above, "
                                           r"across_the_edge, beyond\)"):
        import_weather(clean_db, write_utm_grid(tmp_path / "utm.nc"), aoi="wx", year=2025)
    assert stored_state(clean_db) == [0, 0, 0]
    # a sliver outside (0.05 % of the area) is within the 99.9 % tolerance: linked to its cell
    set_id = parcel_set(clean_db, tmp_path, {"sliver": box(4 * KM - 99.95, 500)}, aoi="wy")
    import_weather(clean_db, write_utm_grid(tmp_path / "utm.nc"), aoi="wy", year=2025)
    assert links(clean_db, set_id)["sliver"] == {3: pytest.approx(0.9995, rel=1e-6)}


def test_a_set_in_another_crs_than_the_grid_gets_the_same_links(clean_db, tmp_path):
    """The same parcels in UTM and in RD New (EPSG:28992); lon/lat and projected grids."""
    rd = Transformer.from_crs(UTM, 28992, always_xy=True)
    utm_ids = parcel_set(clean_db, tmp_path, PARCELS, aoi="utm")
    rd_parcels = {k: shapely.transform(p, lambda xy: np.column_stack(rd.transform(*xy.T)))
                  for k, p in PARCELS.items()}
    path = tmp_path / "rd.gpkg"
    gpd.GeoDataFrame({"pid": list(rd_parcels), "crop_name": ["grass"] * 3},
                     geometry=list(rd_parcels.values()), crs=28992).to_file(path)
    rd_ids = import_parcels(clean_db, path, aoi="rd", year=2025).set_id
    grid = write_grid(tmp_path / "agera5.nc")
    for aoi in ("utm", "rd"):
        import_weather(clean_db, grid, aoi=aoi, year=2025)
    a, b = links(clean_db, utm_ids), links(clean_db, rd_ids)
    assert a.keys() == b.keys() and all(a[k].keys() == b[k].keys() for k in a)
    for k in a:
        for cell, w in a[k].items():
            assert b[k][cell] == pytest.approx(w, rel=1e-5), (k, cell)
    # a projected grid in another CRS (ETRS89-LAEA) than the set (UTM): cells are its own squares
    laea = CRS.from_epsg(3035)
    to_laea = Transformer.from_crs(UTM, laea, always_xy=True)
    cx, cy = to_laea.transform(X0 + KM * 1.5, Y0 - KM * 1.5)  # centre of cell (row 1, column 1)
    centre = Transformer.from_crs(laea, UTM, always_xy=True).transform(cx, cy)
    lone = {"L": shapely.box(centre[0] - 50, centre[1] - 50, centre[0] + 50, centre[1] + 50)}
    set_id = parcel_set(clean_db, tmp_path, lone, aoi="laea")
    import_weather(clean_db, write_laea_grid(tmp_path / "laea.nc", cx, cy), aoi="laea", year=2025)
    assert links(clean_db, set_id) == {"L": {5: 1.0}}


def write_laea_grid(path, cx: float, cy: float):
    """A 4 x 3 grid of 1 km squares in EPSG:3035 whose cell 5 (row 1, column 1) is centred on (cx, cy)."""
    xs, ys = cx + KM * (np.arange(4) - 1), cy - KM * (np.arange(3) - 1)
    return grid_file(path, xs, ys, np.ones((len(DAYS), 3, 4)), CRS.from_epsg(3035))
