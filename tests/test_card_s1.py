"""`cbm card s1`: CARD-BS from a real GRD subset (the sarsen sdist), checked against sarsen itself.

Geometry, orbit, annotation and calibration are the real product's; the measurement DN are
synthetic (the sdist ships DN 0): they are written so that sigma nought is -12 dB east of a
meridian and DN 0 (no measurement) west of it, see ``tests/s1card.py``. One product is made
per module on a small 20 m grid (the time is in sarsen's parsing of the annotation XML).
"""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.warp import Resampling, reproject, transform
from s1card import GRD, ellipsoidal_dem, sarsen_data, with_dn
from shapely.geometry import box

from backend.ard import CardSpec, card_s1
from backend.ard.card import COLLECTION, CardResult
from backend.db import connect
from backend.errors import InvalidInput
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings

BBOX = (11.99, 41.97, 12.48, 42.0)  # swath edge near 12.02 E; < 2048 columns (sarsen rtc fails on
# 2048 + under 128, see backend.ard.products.radiometry_chunks)
GAP = (12.20, 12.30)  # DN 0 between these longitudes
ROME = 12.46  # the real DEM east of this longitude; flat (synthetic, 60 m) west of 12.45
SPEC = CardSpec("EPSG:32633", 20, BBOX, denoise=False)  # as `sarsen rtc` (it removes no noise)
DENOISED = CardSpec("EPSG:32633", 20, BBOX)  # the default: thermal noise removed
AOI = "s1card"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> dict:
    tmp = tmp_path_factory.mktemp("card")
    data = sarsen_data()
    dem = ellipsoidal_dem(data, tmp / "dem.tif", west=11.97)
    safe = with_dn(data, tmp, BBOX, -12.0, gap=GAP)
    s = settings.model_copy(update={"dem": str(dem)})
    with connect(s) as c:
        c.execute("DELETE FROM images WHERE collection = %s", (COLLECTION,))
        c.commit()
    result = card_s1(s, str(safe), tmp / "out", SPEC)
    return {"tmp": tmp, "safe": safe, "dem": dem, "settings": s, "result": result}


def _read(path: Path) -> tuple[np.ndarray, rasterio.Affine]:
    with rasterio.open(path) as src:
        return src.read(1), src.transform


def test_gamma0_equals_sarsen_rtc_command(scene: dict) -> None:
    from sarsen import __main__ as sarsen_cli

    r = scene["result"]
    rows, cols = r.grid.shape
    dem_utm = np.zeros((rows, cols), np.float32)
    with rasterio.open(scene["dem"]) as src:  # the same DEM onto the same grid, by rasterio alone
        reproject(rasterio.band(src, 1), dem_utm, dst_transform=r.grid.transform, dst_crs=r.grid.crs,
                  resampling=Resampling.bilinear)
    dem_path = scene["tmp"] / "dem_utm_ref.tif"
    with rasterio.open(dem_path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
                       crs=r.grid.crs, transform=r.grid.transform) as dst:
        dst.write(dem_utm, 1)
    ref_path = scene["tmp"] / "sarsen_rtc.tif"
    sarsen_cli.rtc(str(scene["safe"]), "IW/VV", str(dem_path), output_urlpath=str(ref_path))
    ref, ref_t = _read(ref_path)
    if ref_t.e > 0:  # sarsen writes the grid south-up
        ref = ref[::-1]
    ours, t = _read(r.assets["VV"])
    assert t == r.grid.transform and ours.dtype == np.float32 and ours.shape == ref.shape
    measured = ref > 0
    assert 0.5 < measured.mean() < 0.9  # inside the swath, outside the DN gap
    np.testing.assert_allclose(ours[measured], ref[measured], rtol=1e-6)
    assert np.isnan(ours[~measured]).all()


def _lonlat(vv: np.ndarray, t: rasterio.Affine, crs: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:vv.shape[0], 0:vv.shape[1]]
    x, y = (np.asarray(v) for v in rasterio.transform.xy(t, rows.ravel(), cols.ravel()))
    lon, lat = (np.asarray(v).reshape(vv.shape) for v in transform(crs, "EPSG:4326", x, y))
    return lon, lat, np.stack([x, y]).reshape(2, *vv.shape)


def test_nodata_outside_the_swath_and_where_no_measurement(scene: dict) -> None:
    import shapely
    from pyproj import Transformer

    from backend.ard.products import metadata
    from backend.ard.safe import check_safe

    r = scene["result"]
    vv, t = _read(r.assets["VV"])
    lon, _, (x, y) = _lonlat(vv, t, r.grid.crs)
    footprint = shapely.from_wkt(metadata(check_safe(scene["safe"]))["geospatial_bounds"])
    utm = shapely.transform(footprint, lambda c: np.column_stack(
        Transformer.from_crs("EPSG:4326", r.grid.crs, always_xy=True).transform(c[:, 0], c[:, 1])))
    # the manifest's footprint is approximate: the data reach ~300 m past it
    inside = shapely.contains_xy(utm.buffer(-500), x, y)
    outside = ~shapely.contains_xy(utm.buffer(500), x, y)
    assert outside.sum() > 5000 and inside.sum() > 100_000  # the grid straddles the far-range edge
    in_gap = (lon > GAP[0] + 0.004) & (lon < GAP[1] - 0.004)
    measured = inside & ((lon < GAP[0] - 0.004) | (lon > GAP[1] + 0.004))
    assert np.isnan(vv[outside]).all() and np.isnan(vv[in_gap]).all()
    assert np.isfinite(vv[measured]).all()


def test_values_plausible(scene: dict) -> None:
    from scipy.interpolate import griddata

    r = scene["result"]
    vv, t = _read(r.assets["VV"])
    lon, lat, _ = _lonlat(vv, t, r.grid.crs)
    # real terrain north of Rome: sigma0 -12 dB flattened by gamma0, around -12 dB
    lo, med, hi = np.percentile(10 * np.log10(vv[(lon > ROME) & np.isfinite(vv)]), [5, 50, 95])
    assert -20 < lo < med < hi < -5 and -13.5 < med < -10.5, (lo, med, hi)
    # flat terrain: gamma0 = sigma0 / cos(incidence), incidence from the annotation's grid.
    # Per pixel sarsen's gamma weights alias at 20 m (a 20 m DEM cell against 3 x 3 GRD pixels):
    # +-2 dB steps; over 5 x 5 pixels (100 m, a small parcel) they average out.
    import xarray as xr

    flat = (lon > 12.06) & (lon < GAP[0] - 0.01)
    h, w = (vv.shape[0] // 5) * 5, (vv.shape[1] // 5) * 5

    def blocks(z: np.ndarray) -> np.ndarray:
        return z[:h, :w].reshape(h // 5, 5, w // 5, 5).mean(axis=(1, 3))

    whole = blocks(flat.astype(float)) == 1
    gcp = xr.open_dataset(scene["safe"], engine="sentinel-1", group="IW/VV/gcp")
    inc = griddata((gcp.longitude.values.ravel(), gcp.latitude.values.ravel()),
                   gcp.incidenceAngle.values.ravel(), (blocks(lon)[whole], blocks(lat)[whole]))
    expected = 10 ** -1.2 / np.cos(np.deg2rad(inc))  # at the block centre (0.01 deg across 100 m)
    err = 10 * np.log10(blocks(vv.astype(float))[whole] / expected)
    assert whole.sum() > 1000 and abs(np.median(err)) < 0.1, np.median(err)
    assert np.percentile(np.abs(err), 99) < 0.4, np.percentile(np.abs(err), 99)


def test_stac_item_complete(scene: dict) -> None:
    r = scene["result"]
    item = json.loads(r.item_path.read_text())
    p = item["properties"]
    assert item["id"] == f"{GRD[:-5]}_CARD-BS_GAMMA0_32633_20m_NO-DENOISE"
    assert item["collection"] == COLLECTION
    assert (p["platform"], p["sat:orbit_state"], p["sat:relative_orbit"], p["sat:absolute_orbit"]) == (
        "sentinel-1b", "descending", 22, 30148)
    assert p["datetime"].startswith("2021-12-23T05:11:22") and p["sar:polarizations"] == ["VV"]
    assert p["proj:code"] == "EPSG:32633" if "proj:code" in p else p["proj:epsg"] == 32633
    rows, cols = r.grid.shape
    assert p["proj:shape"] == [rows, cols] and p["proj:transform"][:6] == list(r.grid.transform)[:6]
    assert p["s1:thermal_noise_removed"] is False and p["s1:radiometry"] == "gamma0"
    assert p["cbm:processing_version"].startswith("card-bs-1 sarsen-0.9")
    assert item["assets"]["VV"]["href"] == "VV.tif" and (r.folder / "VV.tif").is_file()
    with connect(scene["settings"]) as c:
        img = c.execute("SELECT kind, bands, orbit_state, relative_orbit, platform FROM images "
                        "WHERE item_id = %s", (r.item_id,)).fetchone()
    assert img is not None and r.catalogued == 1
    assert (img["kind"], list(img["bands"]), img["orbit_state"], img["relative_orbit"]) == (
        "bs", ["VV"], "descending", 22)


def _parcels(scene: dict) -> dict[str, tuple[int, int, int, int]]:
    """Three parcels of whole pixels over the real terrain (east end) imported as AOI 2021; their cells."""
    r, s = scene["result"], scene["settings"]
    vv, t = _read(r.assets["VV"])
    n = vv.shape[1]  # pixel offsets from the corner
    cells = {"p1": (n - 30, 20, n - 20, 30), "p2": (n - 18, 60, n - 6, 66), "p3": (n - 25, 140, n - 15, 150)}
    geoms = []
    for c0, r0, c1, r1 in cells.values():
        (x0, y1), (x1, y0) = (rasterio.transform.xy(t, r0, c0, offset="ul"),
                              rasterio.transform.xy(t, r1, c1, offset="ul"))
        geoms.append(box(x0, y0, x1, y1))
    gdf = gpd.GeoDataFrame({"pid": list(cells), "crop_code": ["1"] * 3}, geometry=geoms, crs=r.grid.crs)
    gdf.to_file(scene["tmp"] / "parcels.gpkg")
    import_parcels(s, scene["tmp"] / "parcels.gpkg", aoi=AOI, year=2021, replace=True)
    return cells


def test_extraction_over_the_product(scene: dict) -> None:
    r, s = scene["result"], scene["settings"]
    vv, _ = _read(r.assets["VV"])
    cells = _parcels(scene)
    report = extract(s, aoi=AOI, year=2021)
    assert report.failed == 0 and report.done >= 1
    with connect(s) as c:
        rows = c.execute(
            "SELECT p.pid, cbm_stats(s.stats) AS stats FROM signatures s JOIN parcels p ON "
            "p.set_id = s.set_id AND p.id = s.parcel_id JOIN images i ON i.id = s.image_id "
            "WHERE i.item_id = %s ORDER BY p.pid", (r.item_id,)).fetchall()
    assert [row["pid"] for row in rows] == list(cells)
    for row, (c0, r0, c1, r1) in zip(rows, cells.values(), strict=True):
        px = vv[r0:r1, c0:c1].astype(np.float64)
        assert np.isfinite(px).all()
        got = np.array(row["stats"][0])
        np.testing.assert_allclose(got[:5], [px.size, px.mean(), px.std(), px.min(), px.max()], rtol=1e-5)


# --- bad input: each refused with exit 65, nothing written, nothing catalogued -------------------

def _refused(scene: dict, source: Path | str, spec: CardSpec = SPEC, dem: str | None = None) -> str:
    s = scene["settings"] if dem is None else scene["settings"].model_copy(update={"dem": dem})
    out = scene["tmp"] / "bad-out"
    with connect(s) as c:
        before = c.execute("SELECT count(*) AS n FROM images").fetchone()["n"]
    with pytest.raises(InvalidInput) as err:
        card_s1(s, str(source), out, spec)
    assert err.value.exit_code == 65
    with connect(s) as c:
        assert c.execute("SELECT count(*) AS n FROM images").fetchone()["n"] == before
    assert not out.exists() or not any(out.iterdir())
    return str(err.value)


def _copy(scene: dict, name: str) -> Path:
    return Path(shutil.copytree(scene["safe"], scene["tmp"] / name / GRD))


@pytest.fixture(scope="module")
def denoised(scene: dict) -> CardResult:
    """The same product and grid with the thermal noise removed (not catalogued: one S1 image per date)."""
    return card_s1(scene["settings"], str(scene["safe"]), scene["tmp"] / "out", DENOISED, catalogue=False)


def _range_noise_by_hand(xml: str, line: float, pixel: float) -> tuple[float, float]:
    """Range noise at (line, pixel) by ESA's bilinear rule, and the IW2 azimuth factor, from the XML text."""
    import re

    vectors = re.findall(r"<noiseRangeVector>.*?<line>(\d+)</line>.*?<pixel count=\"\d+\">([^<]+)</pixel>"
                         r".*?<noiseRangeLut count=\"\d+\">([^<]+)</noiseRangeLut>", xml, re.S)
    rows = [(int(ln), np.array(px.split(), float), np.array(lut.split(), float)) for ln, px, lut in vectors]
    k = max(i for i, (ln, _, _) in enumerate(rows) if ln <= line)
    (l0, p0, v0), (l1, p1, v1) = rows[k], rows[k + 1]

    def along(px: np.ndarray, lut: np.ndarray) -> float:
        j = int(np.searchsorted(px, pixel, side="right")) - 1
        return float(lut[j] + (lut[j + 1] - lut[j]) * (pixel - px[j]) / (px[j + 1] - px[j]))

    r = along(p0, v0) + (along(p1, v1) - along(p0, v0)) * (line - l0) / (l1 - l0)
    block = re.search(r"<swath>IW2</swath>.*?<line count=\"\d+\">([^<]+)</line>\s*"
                      r"<noiseAzimuthLut count=\"\d+\">([^<]+)</noiseAzimuthLut>", xml, re.S)
    assert block is not None
    az_lines, az = np.array(block.group(1).split(), float), np.array(block.group(2).split(), float)
    i = int(np.searchsorted(az_lines, line, side="right")) - 1
    a = az[i] + (az[i + 1] - az[i]) * (line - az_lines[i]) / (az_lines[i + 1] - az_lines[i])
    return r, float(a)


def test_noise_power_is_range_times_azimuth_bilinear(scene: dict) -> None:
    from backend.ard import noise

    xml = noise.noise_xml(scene["safe"], "VV")
    model = noise.read_noise(xml)
    assert len(model.blocks) == 3 and [b.first_sample for b in model.blocks] == [0, 8890, 17701]
    for line, pixel in ((1000.5, 9000.25), (6679.0, 12345.0), (16702.0, 17700.0)):  # in IW2
        r, a = _range_noise_by_hand(xml.read_text(), line, pixel)
        got = model.power(np.array([line]), np.array([pixel]))[0, 0]
        assert got == pytest.approx(r * a, rel=1e-12) and 300 < got < 5000, (line, pixel, got, r, a)


def test_denoised_intensity_in_radar_geometry(scene: dict) -> None:
    import xarray as xr

    from backend.ard import noise, products
    from backend.ard.safe import check_safe

    files = check_safe(scene["safe"])
    sar = products.product(files, "VV", "sigma0", denoise=True)
    with rasterio.open(next((scene["safe"] / "measurement").glob("*.tiff"))) as src:  # where DN were written
        coarse = src.read(1, out_shape=(src.height // 64, src.width // 64))
    rows, cols = np.nonzero(coarse)
    r0, c0 = int(np.median(rows)) * 64, int(np.median(cols)) * 64  # amid the written DN
    window = {"azimuth_time": slice(r0, r0 + 64), "ground_range": slice(c0, c0 + 256)}
    sigma = sar.beta_nought().isel(window).values
    ds = xr.open_dataset(scene["safe"], engine="sentinel-1", group="IW/VV")
    dn = ds.measurement.isel(window)
    cal = xr.open_dataset(scene["safe"], engine="sentinel-1", group="IW/VV/calibration")
    a = cal.sigmaNought.interp(line=dn.line, pixel=dn.pixel).values.astype(np.float32)
    eta = noise.read_noise(noise.noise_xml(scene["safe"], "VV")).power(dn.line.values, dn.pixel.values)
    dn2 = dn.values.astype(np.float64) ** 2
    expected = np.where(dn.values == 0, np.nan, np.maximum(dn2 - eta, 0) / a.astype(np.float64) ** 2)
    ok = dn.values > 0
    assert ok.mean() > 0.9 and (eta > 0).all()
    np.testing.assert_allclose(sigma, expected, rtol=2e-6, equal_nan=True)
    raw = dn2 / a.astype(np.float64) ** 2
    assert (sigma[ok] <= raw[ok]).all() and (sigma[ok][eta[ok] > 0] < raw[ok][eta[ok] > 0]).all()


def test_denoised_product(scene: dict, denoised: CardResult) -> None:
    raw, _ = _read(scene["result"].assets["VV"])
    den, t = _read(denoised.assets["VV"])
    assert t == scene["result"].grid.transform and den.shape == raw.shape
    item = json.loads(denoised.item_path.read_text())
    assert item["id"] == f"{GRD[:-5]}_CARD-BS_GAMMA0_32633_20m"
    assert item["properties"]["s1:thermal_noise_removed"] is True
    both = np.isfinite(raw) & np.isfinite(den)
    assert both.sum() > 0.99 * np.isfinite(raw).sum()  # the same pixels (the fill edge may move by one)
    assert np.isnan(den[~np.isfinite(raw)]).mean() > 0.999
    assert (den[both] <= raw[both]).all()
    assert (den[both] < raw[both]).mean() > 0.95  # the range LUT falls to 0 at the swath's far edge
    # what was taken off is the noise-equivalent backscatter of S1 IW: around -22 dB
    taken = raw[both].astype(np.float64) - den[both]
    nesz = 10 * np.log10(taken[taken > 0])
    lo, med, hi = np.percentile(nesz, [5, 50, 95])
    assert -32 < lo < med < hi < -15 and -26 < med < -19, (lo, med, hi)


def test_missing_noise_annotation_refused(scene: dict) -> None:
    safe = _copy(scene, "nonoise")
    next((safe / "annotation" / "calibration").glob("noise-*.xml")).unlink()
    assert "noise-*-vv-*.xml is missing" in _refused(scene, safe, DENOISED)


def test_truncated_measurement_refused(scene: dict) -> None:
    safe = _copy(scene, "trunc")
    tiff = next((safe / "measurement").glob("*.tiff"))
    tiff.write_bytes(tiff.read_bytes()[: tiff.stat().st_size // 3])
    assert "truncated" in _refused(scene, safe)


def test_missing_calibration_refused(scene: dict) -> None:
    safe = _copy(scene, "nocal")
    next((safe / "annotation" / "calibration").glob("calibration-*.xml")).unlink()
    assert "cannot be calibrated" in _refused(scene, safe)


def test_slc_refused_on_the_grd_path(scene: dict) -> None:
    slc = sarsen_data() / "S1A_IW_SLC__1SDV_20220104T170557_20220104T170624_041314_04E951_F1F1.SAFE"
    assert "SLC product, not GRD" in _refused(scene, slc)


def test_dem_not_covering_refused(scene: dict) -> None:
    east = CardSpec("EPSG:32633", 20, (12.52, 41.97, 12.58, 42.0))  # in the swath, past the DEM
    assert "does not cover" in _refused(scene, scene["safe"], east)


def test_dem_with_geoid_refused_when_proj_cannot_apply_it(scene: dict) -> None:
    from pyproj import Transformer

    from backend.ard.grid import _check_vertical

    dem = sarsen_data() / "Rome-30m-DEM.tif"  # EPSG:9707: heights above EGM96
    ballpark = "ballpark" in Transformer.from_crs("EPSG:9707", "EPSG:4979").description.lower()
    if ballpark:  # this PROJ has no EGM96 grid (the case here and in CI)
        assert "geoid" in _refused(scene, scene["safe"], dem=str(dem))
    else:  # with the grid the DEM is accepted and keeps its vertical datum on the UTM grid
        with rasterio.open(dem) as src:
            assert "EGM96" in _check_vertical(src, str(dem), scene["result"].grid).to_wkt()


def test_cli_exit_65_with_message(scene: dict, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    from backend import cli
    from backend.cli import card

    monkeypatch.setattr(card, "settings", lambda: scene["settings"])
    slc = sarsen_data() / "S1A_IW_SLC__1SDV_20220104T170557_20220104T170624_041314_04E951_F1F1.SAFE"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["card", "s1", str(slc), "--crs", "EPSG:32633", "--out", str(scene["tmp"] / "cli")])
    assert exit_.value.code == 65
    assert "is a SLC product, not GRD" in capsys.readouterr().err
    assert not (scene["tmp"] / "cli").exists()


# --- the other source forms resolve to the same checked SAFE (no processing: that is above) ------

def test_zip_s3_and_stac_item_sources_resolve_to_the_safe(scene: dict, moto_s3: str) -> None:
    import zipfile

    import boto3

    from backend.ard.safe import check_safe, local_safe

    s, safe = scene["settings"], scene["safe"]
    files = sorted(p for p in safe.rglob("*") if p.is_file())
    zpath = scene["tmp"] / "src" / f"{GRD[:-5]}.zip"
    zpath.parent.mkdir()
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in files:
            zf.write(p, f"{GRD}/{p.relative_to(safe)}")
    item = scene["tmp"] / "src" / "item.json"
    item.write_text(json.dumps({"type": "Feature", "id": GRD[:-5], "assets": {
        "product": {"href": f"{GRD[:-5]}.zip"}}}))
    s3 = Settings(**{**s.model_dump(), "s3_endpoint": moto_s3, "s3_https": False,
                     "s3_access_key_id": "test", "s3_secret_access_key": "test"})
    client = boto3.client("s3", endpoint_url=f"http://{moto_s3}", aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
    client.create_bucket(Bucket="grd")
    for p in files:
        client.upload_file(str(p), "grd", f"s1/{GRD}/{p.relative_to(safe)}")
    want = check_safe(safe)
    for source in (str(zpath), str(item), f"s3://grd/s1/{GRD}"):
        with local_safe(s3, source) as local:
            got = check_safe(local)
            assert local.name == GRD and got.polarisations == want.polarisations == ("VV",)
            assert sorted(p.relative_to(local) for p in local.rglob("*") if p.is_file()) == [
                p.relative_to(safe) for p in files]
    bad = scene["tmp"] / "src" / "cog-item.json"
    bad.write_text(json.dumps({"id": "x", "assets": {"vv": {"href": "s3://b/vv.tif"}}}))
    with pytest.raises(InvalidInput, match="no asset pointing at the product"), local_safe(s3, str(bad)):
        pass


def test_batch_notebook_makes_catalogues_and_extracts_new_products(scene: dict) -> None:
    """The batch notebook through the batch runner: new GRD -> CARD-BS -> catalogue -> signatures."""
    from backend.batch import get_run, run_batch

    s = scene["settings"]
    _parcels(scene)
    source, out = scene["tmp"] / "grd", scene["tmp"] / "batch-out"
    source.mkdir(exist_ok=True)
    (source / GRD).symlink_to(scene["safe"], target_is_directory=True)
    params = {"aoi": AOI, "year": 2021, "source": str(source), "out": str(out), "crs": "EPSG:32633",
              "resolution": 20, "bbox": list(BBOX)}
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        run = run_batch(s, "notebooks/batch/card_s1.ipynb", params, scheduler=cluster.scheduler_address)
        again = run_batch(s, "notebooks/batch/card_s1.ipynb", params, scheduler=cluster.scheduler_address)
    gc.collect()  # the kernel clients of papermill's threads go now, not inside a later import (their
    # __del__ logging into pytest's closed stream broke an AST compile at session end)
    assert run.status == "done" and again.status == "done", (run, again)
    item_id = f"{GRD[:-5]}_CARD-BS_GAMMA0_32633_20m"
    assert (out / item_id / "VV.tif").is_file() and (out / item_id / "item.json").is_file()
    record = Path(get_run(s, run.id).chunks[0].output_path).read_text()  # the executed notebook: the audit
    assert "made 1, already made 0, refused 0" in record and " images done, 0 failed" in record
    assert "made 0, already made 1, refused 0" in Path(get_run(s, again.id).chunks[0].output_path).read_text()
    with connect(s) as c:
        rows = c.execute("SELECT count(*) AS n FROM signatures g JOIN images i ON i.id = g.image_id "
                         "WHERE i.item_id = %s", (item_id,)).fetchone()["n"]
        removed = c.execute("SELECT item->'properties'->>'s1:thermal_noise_removed' AS v FROM images "
                            "WHERE item_id = %s", (item_id,)).fetchone()
    assert rows == 3 and removed is not None and removed["v"] == "true"  # the three parcels, one band
