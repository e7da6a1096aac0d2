"""``cbm import terrain``: elevation, slope and aspect per parcel from DEMs of known shape.

Expected values are worked out by hand from the shape (a plane's slope is atan of its
gradient, a cone's aspect points away from its apex) and the grid's ground metres (UTM's
scale factor 0.9996 on its central meridian; the ellipsoid's metres per degree from pyproj's
Geod for a lon/lat DEM), not by the import's own code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from clitools import assert_needs_replace_and_a_known_set, assert_refused_unchanged, cli_on, run
from pyproj import Geod, Transformer
from rasterio.transform import from_origin
from terraintools import K0, RES, X0, Y0, centres, circular_diff, inside, parcel_set, square, write_dem

from backend.ancillary import import_terrain
from backend.ancillary.terrain_grid import parcel_terrain, slope_aspect
from backend.db import connect
from backend.errors import AlreadyExists

COMMAND = ("import", "terrain")
GX, GY = 0.03, -0.04  # plane gradient in grid units: up to the east, down to the north
PLANE = {"P": square(X0 + 1003, Y0 - 1003, 53),  # inside the DEM
         "Q": square(X0 + 20, Y0 - 20, 18),  # in the DEM's corner: border pixels
         "S": square(X0 + 1503, Y0 - 1503, 1.7)}  # smaller than a pixel, holds no pixel centre


def terrain(settings, set_id: int) -> dict[str, dict]:
    with connect(settings) as c:
        rows = c.execute("SELECT p.pid, t.* FROM parcel_terrain t JOIN parcels p ON p.set_id = t.set_id "
                         "AND p.id = t.parcel_id WHERE t.set_id = %s", (set_id,)).fetchall()
    return {r["pid"]: r for r in rows}


def plane() -> np.ndarray:
    xs, ys = centres()
    return 100.0 + GX * (xs - X0) + GY * (ys - Y0)


def test_plane_gives_its_slope_and_aspect_everywhere(clean_db, tmp_path):
    set_id = parcel_set(clean_db, tmp_path, PLANE)
    z = plane()
    r = import_terrain(clean_db, write_dem(tmp_path / "plane.tif", z), aoi="tr", year=2025)
    assert r.n_parcels == 3 and r.pixel_m == pytest.approx(RES / K0, rel=1e-9)
    got = terrain(clean_db, set_id)
    slope = math.degrees(math.atan(K0 * math.hypot(GX, GY)))
    aspect = math.degrees(math.atan2(-GX, -GY)) % 360  # downslope: west and north
    assert aspect == pytest.approx(323.1301, abs=1e-4)
    xs, ys = centres()
    for pid, geom in PLANE.items():
        t = got[pid]
        assert t["slope_mean"] == pytest.approx(slope, rel=1e-6), pid
        assert t["slope_max"] == pytest.approx(slope, rel=1e-6), pid
        assert t["aspect"] == pytest.approx(aspect, rel=1e-6), pid
        mask = inside(geom, xs, ys)
        if pid == "S":  # no centre inside: the one pixel it touches
            assert not mask.any()
            mask = (abs(xs - (X0 + 1505)) < 1) & (abs(ys - (Y0 - 1505)) < 1)
        assert t["n_pixels"] == mask.sum() and t["elevation"] == pytest.approx(z[mask].mean(), rel=1e-7)
    assert got["P"]["n_pixels"] == 121 and got["Q"]["n_pixels"] == 16


def test_cone_slopes_away_from_its_apex(clean_db, tmp_path):
    xc, yc = X0 + 1000, Y0 - 1000  # a pixel corner
    parcels = {"N": square(xc, yc + 700, 40), "E": square(xc + 700, yc, 40), "S": square(xc, yc - 700, 40),
               "W": square(xc - 700, yc, 40), "top": square(xc, yc, 40)}
    set_id = parcel_set(clean_db, tmp_path, parcels)
    xs, ys = centres()
    import_terrain(clean_db, write_dem(tmp_path / "cone.tif", 500.0 - 0.2 * np.hypot(xs - xc, ys - yc)),
                   aoi="tr", year=2025)
    got = terrain(clean_db, set_id)
    slope = math.degrees(math.atan(0.2 * K0))
    for pid, bearing in {"N": 0, "E": 90, "S": 180, "W": 270}.items():
        t = got[pid]
        # Horn's 3 x 3 gradient of a cone is off by O((pixel / distance)^2) ~ 1e-4 at 700 m
        assert t["slope_mean"] == pytest.approx(slope, rel=1e-3), pid
        assert t["slope_mean"] <= t["slope_max"] < slope * 1.002, pid
        assert circular_diff(t["aspect"], bearing) < 1e-3, pid
    # around the apex every bearing has its opposite: no aspect, and the top is less steep
    assert got["top"]["aspect"] is None and got["top"]["slope_mean"] < slope


def test_lonlat_dem_slope_uses_ground_metres(clean_db, tmp_path):
    geod = Geod(ellps="WGS84")
    lon0, lat0, res, n = 4.99, 52.01, 0.0001, 200
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    lons, lats = lon0 + (cols + 0.5) * res, lat0 - (rows + 0.5) * res
    north_m = np.vectorize(lambda lat: math.copysign(geod.inv(5.0, 52.0, 5.0, lat)[2], lat - 52.0))(lats)
    m_per_lon = geod.inv(5.0, 52.0, 5.001, 52.0)[2] / 0.001
    gx, gy = 0.05, 0.12  # ground gradient: up to the east and the north
    z = 200.0 + gy * north_m + gx * (lons - 5.0) * m_per_lon
    to_utm = Transformer.from_crs(4326, 32631, always_xy=True)
    parcels = {"A": shapely.buffer(shapely.Point(to_utm.transform(5.0, 52.0)), 60, quad_segs=4)}
    set_id = parcel_set(clean_db, tmp_path, parcels)
    dem = write_dem(tmp_path / "lonlat.tif", z, crs=4326, transform=from_origin(lon0, lat0, res, res))
    r = import_terrain(clean_db, dem, aoi="tr", year=2025)
    t = terrain(clean_db, set_id)["A"]
    assert t["slope_mean"] == pytest.approx(math.degrees(math.atan(math.hypot(gx, gy))), rel=1e-4)
    assert circular_diff(t["aspect"], math.degrees(math.atan2(-gx, -gy)) % 360) < 1e-2
    to_ll = Transformer.from_crs(32631, 4326, always_xy=True)
    geom = shapely.transform(parcels["A"], lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    mask = inside(geom, lons, lats)
    assert t["n_pixels"] == mask.sum() and t["elevation"] == pytest.approx(z[mask].mean(), rel=1e-7)
    assert r.pixel_m == pytest.approx((res * m_per_lon + geod.inv(5, 52, 5, 52 + res)[2]) / 2, rel=1e-3)


def test_flat_ground_has_no_aspect():
    z = np.full((5, 5), 42.0)
    slope, east, north = slope_aspect(z, np.full(5, 10.0), np.full(5, 10.0))
    t = parcel_terrain(z, slope, east, north, np.ones((5, 5), bool))
    assert (t.elevation, t.slope_mean, t.slope_max, t.aspect, t.n_pixels) == (42.0, 0.0, 0.0, None, 25)


@pytest.fixture()
def with_terrain(clean_db, tmp_path, monkeypatch):
    """A parcel set with terrain imported from the plane (what a bad import must leave as it is)."""
    with cli_on(clean_db, monkeypatch):
        set_id = parcel_set(clean_db, tmp_path, PLANE)
        import_terrain(clean_db, write_dem(tmp_path / "good.tif", plane()), aoi="tr", year=2025)
        yield clean_db, set_id


def _bad_dems(tmp_path):
    z = plane()
    holed = z.copy()
    holed[100, 100] = -9999.0  # inside parcel P
    corrupt = write_dem(tmp_path / "corrupt.tif", z)
    corrupt.write_bytes(corrupt.read_bytes()[:len(corrupt.read_bytes()) * 2 // 3])
    text = tmp_path / "dem.tif.txt"
    text.write_text("not a raster\n")
    return {
        "not covering": (write_dem(tmp_path / "small.tif", z[:100, :100]),
                         "does not cover 2 parcel(s) (e.g. P, S)"),
        "no CRS": (write_dem(tmp_path / "nocrs.tif", z, crs=None), "the DEM has no CRS"),
        "corrupt": (corrupt, "corrupt"),
        "nodata": (write_dem(tmp_path / "holed.tif", holed, nodata=-9999.0),
                   "no elevation (nodata) in parcel P"),
        "not a raster": (text, "give a DEM GeoTIFF"),
    }


def test_bad_dems_are_refused_with_exit_65_and_nothing_changes(with_terrain, tmp_path, capsys):
    settings, set_id = with_terrain
    assert_refused_unchanged(COMMAND, "tr", 2025, _bad_dems(tmp_path), lambda: terrain(settings, set_id),
                             capsys)


def test_existing_terrain_needs_replace_and_unknown_set_is_66(with_terrain, tmp_path, capsys):
    settings, set_id = with_terrain
    dem = write_dem(tmp_path / "again.tif", plane() + 10)
    with pytest.raises(AlreadyExists):
        import_terrain(settings, dem, aoi="tr", year=2025)
    assert_needs_replace_and_a_known_set(COMMAND, dem, "tr", 2025, capsys)
    old = terrain(settings, set_id)["P"]["elevation"]
    code, _ = run([*COMMAND, str(dem), "--aoi", "tr", "--year", "2025", "--replace"], capsys)
    assert code == 0 and terrain(settings, set_id)["P"]["elevation"] == pytest.approx(old + 10, rel=1e-7)
