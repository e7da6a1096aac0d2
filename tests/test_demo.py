"""Tests of the synthetic demo area (backend.demo), on small builds."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pystac
import pytest
import rasterio
from rasterio import features
from rio_cogeo.cogeo import cog_validate

from backend.demo import DemoParams, build_demo, load_manifest
from backend.demo.s2 import SCL_CODES

SMALL = {"n_parcels": 200, "n_s2_dates": 24, "n_s1_dates": 6}
TINY = {"n_parcels": 60, "n_s2_dates": 3, "n_s1_dates": 2}
S2_RES = {"B02": 10, "B03": 10, "B04": 10, "B08": 10, "B05": 20, "B11": 20, "SCL": 20}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo")
    return build_demo(out, seed=7, **SMALL)


def _hashes(m) -> dict[str, str]:
    return {f.path: f.sha256 for f in m.files}


def test_deterministic(tmp_path: Path) -> None:
    a = build_demo(tmp_path / "a", seed=3, **TINY)
    b = build_demo(tmp_path / "b", seed=3, **TINY)
    c = build_demo(tmp_path / "c", seed=4, **TINY)
    assert _hashes(a) == _hashes(b)
    assert _hashes(a).keys() == _hashes(c).keys()
    differing = [p for p, h in _hashes(a).items() if _hashes(c)[p] != h]
    assert "parcels.gpkg" in differing
    assert len(differing) > 0.8 * len(a.files)


def test_idempotent(tmp_path: Path) -> None:
    first = build_demo(tmp_path, seed=5, **TINY)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    t0 = time.perf_counter()
    again = build_demo(tmp_path, seed=5, **TINY)
    assert time.perf_counter() - t0 < 1.0
    assert again.files == first.files
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == mtimes
    (tmp_path / first.files[-1].path).write_bytes(b"truncated")
    rebuilt = build_demo(tmp_path, seed=5, **TINY)
    assert rebuilt.files == first.files


def test_progress_hook(tmp_path: Path) -> None:
    class Counter:
        total = None
        n = 0

        def update(self, n: float | None = 1) -> None:
            self.n += int(n or 0)

    bar = Counter()
    build_demo(tmp_path, seed=5, progress=bar, **TINY)
    assert bar.n == bar.total == TINY["n_s2_dates"] + TINY["n_s1_dates"] + 2


def test_params_validated() -> None:
    with pytest.raises(ValueError):
        DemoParams(n_parcels=5)
    assert DemoParams(size_m=1000).size_m == 1020


def test_manifest(demo) -> None:
    m = load_manifest(demo.out_dir)
    assert m is not None and m.files == demo.files
    doc = json.loads((demo.out_dir / "manifest.json").read_text())
    assert doc["parameters"]["seed"] == 7 and doc["synthetic"] is True
    paths = {f.path for f in demo.files}
    assert {"parcels.gpkg", "ground_truth.json", "README.md", "stac/catalog.json"} <= paths


def test_s2_cogs(demo) -> None:
    items = sorted((demo.out_dir / "s2").iterdir())
    assert len(items) == SMALL["n_s2_dates"]
    for band, res in S2_RES.items():
        path = items[0] / f"{band}.tif"
        assert cog_validate(str(path))[0], path
        with rasterio.open(path) as ds:
            assert ds.res == (res, res)
            assert ds.crs.to_epsg() == 32631
            assert ds.dtypes[0] == ("uint8" if band == "SCL" else "uint16")
            assert ds.nodata == 0
    codes: set[int] = set()
    for item in items:
        with rasterio.open(item / "SCL.tif") as ds:
            codes |= {int(v) for v in np.unique(ds.read(1))}
    assert codes <= SCL_CODES
    assert {4, 5} <= codes and codes & {8, 9}


def test_s1_cogs(demo) -> None:
    for sub, bands in (("s1", ("VV", "VH")), ("coh", ("COH_VV", "COH_VH"))):
        items = sorted((demo.out_dir / sub).iterdir())
        assert len(items) == SMALL["n_s1_dates"]
        for band in bands:
            path = items[0] / f"{band}.tif"
            assert cog_validate(str(path))[0], path
            with rasterio.open(path) as ds:
                a = ds.read(1)
                assert ds.dtypes[0] == "float32" and ds.res == (20, 20)
            assert a.min() > 0
            if sub == "coh":
                assert a.max() <= 1


def test_stac(demo) -> None:
    cat = pystac.Catalog.from_file(str(demo.stac_catalog))
    cols = {c.id: c for c in cat.get_children()}
    assert set(cols) == {"sentinel-2-l2a", "sentinel-1-bs", "sentinel-1-coh6"}
    keys = {"sentinel-2-l2a": set(S2_RES), "sentinel-1-bs": {"VV", "VH"},
            "sentinel-1-coh6": {"COH_VV", "COH_VH"}}
    for cid, col in cols.items():
        items = list(col.get_items())
        assert len(items) == (SMALL["n_s2_dates"] if cid == "sentinel-2-l2a"
                              else SMALL["n_s1_dates"])
        for item in items:
            assert set(item.assets) == keys[cid]
            for asset in item.assets.values():
                assert not Path(asset.href).is_absolute()
                href = Path(asset.get_absolute_href() or "")
                assert href.is_file()
                with rasterio.open(href) as ds:
                    assert list(ds.shape) == asset.extra_fields["proj:shape"]
            if cid == "sentinel-2-l2a":
                assert 0 <= item.properties["eo:cloud_cover"] <= 100
    text = (demo.stac_catalog).read_text()
    assert str(demo.out_dir) not in text


def test_ground_truth(demo) -> None:
    gt = json.loads(demo.ground_truth_path.read_text())
    assert gt["synthetic"] is True and "SYNTHETIC" in gt["notice"]
    assert "SYNTHETIC" in (demo.out_dir / "README.md").read_text()
    gdf = gpd.read_file(demo.parcels_path, layer="parcels")
    truth = {p["pid"]: p for p in gt["parcels"]}
    assert len(truth) == SMALL["n_parcels"]
    assert set(truth) <= set(gdf["pid"])
    assert set(gt["wrong_crop_pids"]) <= set(truth) and gt["wrong_crop_pids"]
    broken = {b["fid"]: b for b in gt["broken_rows"]}
    assert len(broken) >= 10
    assert {"self_intersection", "duplicate_pid", "empty_geometry", "point_geometry",
            "huge_area", "outside_aoi"} <= {b["problem"] for b in broken.values()}
    for fid, row in enumerate(gdf.itertuples(), start=1):
        if fid in broken:
            assert row.pid == broken[fid]["pid"]
            continue
        p = truth[row.pid]
        assert int(row.crop_code) == p["declared_crop_code"]
        assert (p["declared_crop_code"] != p["true_crop_code"]) == (row.pid in
                                                                   gt["wrong_crop_pids"])
    assert gdf["pid"].duplicated().sum() == 1
    grass = [p for p in truth.values() if p["true_group"] == "grassland"]
    assert grass and all(0 <= p["n_mowings"] <= 4 for p in grass)
    assert any(p["n_mowings"] >= 2 for p in grass)
    for p in truth.values():
        assert all(date.fromisoformat(e["date"]).year == 2025 for e in p["events"])


def _parcel_ndvi(item: Path, geom) -> float | None:
    """Mean NDVI of a parcel's inner pixels if at least 90 % of them are clear vegetation/soil."""
    with rasterio.open(item / "B04.tif") as r, rasterio.open(item / "B08.tif") as n:
        mask = features.geometry_mask([geom.buffer(-10)], r.shape, r.transform, invert=True)
        red, nir = r.read(1)[mask].astype(float), n.read(1)[mask].astype(float)
    with rasterio.open(item / "SCL.tif") as s:
        scl = s.read(1, out_shape=mask.shape)[mask]  # nearest upsampling to 10 m
    if mask.sum() < 10 or np.isin(scl, (4, 5)).mean() < 0.9:
        return None
    return float(((nir - red) / (nir + red)).mean())


def test_mowing_lowers_ndvi(demo) -> None:
    gt = json.loads(demo.ground_truth_path.read_text())
    gdf = gpd.read_file(demo.parcels_path, layer="parcels").drop_duplicates("pid")
    geoms = dict(zip(gdf["pid"], gdf.geometry, strict=True))
    items = {date(int(p.name[11:15]), int(p.name[15:17]), int(p.name[17:19])): p
             for p in (demo.out_dir / "s2").iterdir()}
    drops = []
    for p in gt["parcels"]:
        mows = [date.fromisoformat(e["date"]) for e in p["events"] if e["type"] == "mowing"]
        for m in mows:
            before = [d for d in items if 0 < (m - d).days <= 25]
            after = [d for d in items if 0 <= (d - m).days <= 6]
            if not before or not after:
                continue
            d0, d1 = max(before), min(after)
            if any(d0 < o < m or m < o <= d1 for o in mows if o != m):
                continue
            v0 = _parcel_ndvi(items[d0], geoms[p["pid"]])
            v1 = _parcel_ndvi(items[d1], geoms[p["pid"]])
            if v0 is not None and v1 is not None:
                drops.append(v0 - v1)
    print(f"{len(drops)} mowings seen, drops {np.round(drops, 2)}")
    assert len(drops) >= 3
    assert np.mean(np.array(drops) > 0.1) >= 0.8
