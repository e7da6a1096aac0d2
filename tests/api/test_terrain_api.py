"""/query/parcelByID through real HTTP: the parcel's terrain as extra columns once imported."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from apitools import Server, get_json
from gridtools import X0, Y0
from pyproj import Proj
from rasterio.transform import from_origin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from terraintools import write_dem

from backend.ancillary import import_terrain
from backend.db import connect
from backend.db import queries_ancillary as q
from backend.parcels.sets import ParcelSetKey, resolve_set

BASE = ["pid", "cropname", "cropcode", "srid", "area", "clon", "clat"]
TERRAIN = ["elevation", "slope_mean", "slope_max", "aspect"]


@pytest.fixture()
def tt_terrain(api_settings, tmp_path):
    """A plane rising 0.1 m per grid metre to the east over the tiny area, removed afterwards."""
    cols, _ = np.meshgrid(np.arange(100), np.arange(100))
    z = 50.0 + 0.1 * (cols + 0.5) * 10.0
    dem = write_dem(tmp_path / "tt_dem.tif", z, crs=32631, transform=from_origin(X0, Y0, 10, 10))
    import_terrain(api_settings, dem, aoi="tt", year=2025)
    yield z
    with connect(api_settings) as c:
        q.delete_terrain(c, resolve_set(c, ParcelSetKey("tt", 2025))["id"])


def test_parcel_by_id_has_terrain_columns(api: Server, tt_terrain) -> None:
    plain = get_json(api, "/query/parcelByID", aoi="tt", year=2025, pid="A")
    assert list(plain) == BASE + TERRAIN
    # A covers columns 2..11, rows 2..9 of the 10 m grid: mean elevation at their centres
    assert plain["elevation"] == [round(float(tt_terrain[2:10, 2:12].mean()), 2)]
    k = Proj(32631).get_factors(*Proj(32631)(X0 + 70, Y0 - 60, inverse=True)).parallel_scale
    slope = round(math.degrees(math.atan(0.1 * k)), 2)  # grid metres are 1/k ground metres
    assert plain["slope_mean"] == [slope] and plain["slope_max"] == [slope]
    assert plain["aspect"] == [270.0]  # downslope to the west
    geo = get_json(api, "/query/parcelByID", aoi="tt", year=2025, pid="A", withGeometry="True")
    assert list(geo) == [*BASE, "geom", *TERRAIN] and geo["elevation"] == plain["elevation"]
    none = get_json(api, "/query/parcelByID", aoi="tt", year=2025, pid="nope")
    assert none == {n: [] for n in BASE + TERRAIN}


def test_parcel_by_id_without_terrain_keeps_the_jrc_columns(api: Server) -> None:
    assert list(get_json(api, "/query/parcelByID", aoi="tt", year=2025, pid="A")) == BASE
