"""The demo's SYNTHETIC weather grid and DEM: written beside the build, imported by the demo chain."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import rasterio
import xarray as xr
from pyproj import Transformer

from backend.db import connect
from backend.demo import DemoParams
from backend.demo.ancillary import demo_weather
from backend.demo.params import CRS, STREAM_PARCELS, aoi_bounds, rng_for
from backend.demo.parcels import make_parcels, to_geodataframe, write_parcels
from backend.demo.phenology import weather
from backend.demo.pipeline import _ancillary
from backend.parcels import import_parcels

PARAMS = DemoParams(seed=11, n_parcels=40, n_s2_dates=2, n_s1_dates=2)


def test_weather_rains_on_the_demo_rain_days_only():
    g = demo_weather(PARAMS)
    rain, _ = weather(rng_for(PARAMS.seed, 6))  # STREAM_WEATHER: the days the imagery is wet
    wet = (g.precipitation > 0).any(axis=(1, 2))
    assert (wet == rain).all()
    assert ((g.precipitation > 0).all(axis=(1, 2)) == wet).all()  # area-wide, like the imagery
    assert (g.tmin < g.tmean).all() and (g.tmean < g.tmax).all()
    assert g.tmean[:60].mean() < 6 < 14 < g.tmean[180:240].mean()  # winter, summer


def test_demo_chain_writes_and_imports_weather_and_dem(clean_db, tmp_path):
    ps = make_parcels(PARAMS, rng_for(PARAMS.seed, STREAM_PARCELS))
    gdf, _ = to_geodataframe(ps)
    write_parcels(gdf, tmp_path / "parcels.gpkg")
    extent = Transformer.from_crs(CRS, 4326, always_xy=True).transform_bounds(*aoi_bounds(PARAMS))
    r = import_parcels(clean_db, tmp_path / "parcels.gpkg", aoi="demo", year=2025, aoi_extent=extent,
                       skip_invalid=True)  # as the demo chain imports them
    manifest = SimpleNamespace(out_dir=tmp_path, params=PARAMS)
    lines = list(_ancillary(clean_db, manifest, 2025))
    assert lines[0].startswith("weather (SYNTHETIC") and lines[1].startswith("terrain (SYNTHETIC")
    nc = xr.open_dataset(tmp_path / "ancillary" / "weather_seed42.nc")
    assert nc.sizes["time"] == 365 and "SYNTHETIC" in nc.attrs["title"]
    with rasterio.open(tmp_path / "ancillary" / "dem_seed42.tif") as ds:
        z = ds.read(1)
    with connect(clean_db) as c:
        n_links = c.execute("SELECT count(DISTINCT parcel_id) AS n FROM weather_links").fetchone()["n"]
        t = c.execute("SELECT count(*) AS n, min(elevation) AS lo, max(elevation) AS hi, "
                      "max(slope_max) AS steep FROM parcel_terrain").fetchone()
    assert n_links == r.n_imported and t["n"] == r.n_imported
    assert z.min() <= t["lo"] < t["hi"] <= z.max() and t["steep"] < 5
    assert [x.split(":")[0] for x in _ancillary(clean_db, manifest, 2025)] == ["weather", "terrain"]
    assert "already" in " ".join(_ancillary(clean_db, manifest, 2025))
    np.testing.assert_array_equal(nc["Precipitation_Flux"].values, demo_weather(PARAMS).precipitation)


def test_rain_season_wets_s1_exactly_where_its_weather_file_says():
    import shapely

    from backend.demo.params import ORIGIN_X, ORIGIN_Y
    from backend.demo.rain import WET_MM, showers, wet_db

    g = showers(PARAMS, rng_for(1, 2))
    fields = np.array([shapely.box(ORIGIN_X + x, ORIGIN_Y - 900, ORIGIN_X + x + 50, ORIGIN_Y - 850)
                       for x in (20.0, 480.0, 900.0)])
    wet = wet_db(g, fields, rng_for(1, 3))
    to_ll = Transformer.from_crs(CRS, 4326, always_xy=True)
    for k, f in enumerate(fields):
        lon, lat = to_ll.transform(f.centroid.x, f.centroid.y)
        i, j = int(np.abs(g.lats - lat).argmin()), int(np.abs(g.lons - lon).argmin())
        rain = g.precipitation[:, i, j].astype(np.float64)
        two = rain + np.concatenate([[0.0], rain[:-1]])
        assert ((wet[k] > 0) == (two >= WET_MM)).all() and (wet[k][two >= WET_MM] >= 1.2).all()
    share = (g.precipitation >= WET_MM).mean(axis=(1, 2))
    assert 0 < (share > 0).mean() < 0.6 and share.max() < 0.6  # local showers, never the whole area
