"""Provenance in the API (issue 17): which image, provider and orbit every time-series row is
from, filters on orbit/collection/provider, and what the catalogue holds in ``/query/info``.

Real Planetary Computer S1 RTC and S2 items pointed at local rasters, extracted into a real
database, queried through the real HTTP API.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from apitools import get_json, running_api
from realitems import localise, parcels_file, real_item, window, write_raster

from backend.catalogue import add_source
from backend.db import connect
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings

RNG = np.random.default_rng(3)


def test_time_series_provenance_and_filters(clean_db: Settings, tmp_path: Path) -> None:
    from backend.accounts import users

    import_parcels(clean_db, parcels_file(tmp_path / "p.gpkg"), aoi="rd", year=2025)
    vv = {o: RNG.random((64, 64), dtype=np.float32) for o in ("ascending", "descending")}
    docs = []
    for day, orbit in enumerate(vv, start=1):
        files = {"vv": write_raster(tmp_path / orbit / "vv.tif", vv[orbit], 10, nodata=None),
                 "vh": write_raster(tmp_path / orbit / "vh.tif", vv[orbit] / 5, 10, nodata=None)}
        doc = localise(real_item("pc-s1rtc.json"), files, item_id=f"rtc_{orbit}")
        doc["properties"].update({"sat:orbit_state": orbit, "sat:relative_orbit": 80 + day,
                                  "datetime": f"2025-06-0{day}T05:00:00Z"})
        docs.append(doc)
    red = RNG.integers(1000, 5000, (64, 64), dtype=np.uint16)
    s2 = {"B04": write_raster(tmp_path / "s2" / "B04.tif", red, 10)}
    nomask = localise(real_item("pc-s2l2a.json"), s2, item_id="s2_nomask")
    nomask["properties"]["datetime"] = "2025-06-03T10:00:00Z"
    src = tmp_path / "items.json"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [*docs, nomask]}))
    assert add_source(clean_db, str(src)).added == 3
    assert extract(clean_db, aoi="rd", year=2025).done == 3
    with connect(clean_db, autocommit=True) as conn:
        users.ensure_admin(conn, clean_db)

    with running_api(clean_db) as api:
        def ts(**params: str) -> dict:
            return get_json(api, "/query/parcelTimeSeries", "admin", aoi="rd", year=2025, pid="A", **params)

        jrc = ts(tstype="bs")  # the JRC shape is unchanged by default
        assert list(jrc) == ["date_part", "band", "count", "mean", "std", "min", "p25", "p50", "p75",
                             "max"]
        assert jrc["band"] == ["VVb", "VHb", "VVb", "VHb"]
        full = ts(tstype="bs", provenance="True")
        assert list(full)[:10] == list(jrc)
        assert full["image_id"] == ["rtc_ascending"] * 2 + ["rtc_descending"] * 2
        assert full["orbit"] == ["ascending"] * 2 + ["descending"] * 2
        assert full["relative_orbit"] == [81, 81, 82, 82]
        assert set(full["provider"]) == {"planetary-computer"}
        assert set(full["collection"]) == {"sentinel-1-rtc"}
        asc = ts(tstype="bs", band="VVb", orbit="ascending")
        assert len(asc["date_part"]) == 1
        assert abs(asc["mean"][0] - float(window(vv["ascending"], "A").astype(np.float64).mean())) < 1e-6
        assert ts(tstype="bs", collection="sentinel-1-grd")["band"] == []
        assert ts(tstype="bs", provider="cdse")["band"] == []
        s2row = ts(tstype="s2", provenance="True")
        assert (s2row["band"], s2row["mask"], s2row["hist"]) == (["B04"], ["none"], [{}])
        info = get_json(api, "/query/info", "admin")
        held = {(e["tstype"], e["collection"]): (e["bands"], e["masks"], e["images"])
                for e in info["imagery"]}
        assert held == {
            ("bs", "sentinel-1-rtc"): (["VVb", "VHb"], ["none"], 2),
            ("s2", "sentinel-2-l2a"): (["B04"], ["none"], 1)}
        assert "B8A" in info["tstypes"]["s2"] and "HHb" in info["tstypes"]["bs"]
