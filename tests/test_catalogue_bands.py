"""Real provider items end to end: band sets, multi-band files, radiometry (issue 17).

Each test copies a real item of ../shared/realdata/stac, points its hrefs at small local
rasters (JP2 for CDSE, GeoTIFF elsewhere, one multi-band GeoTIFF where the case needs one),
catalogues it, extracts it into a real database and compares the stored statistics with
numpy on the same arrays, in the stored unit (S2: reflectance x 10 000, baseline-03 DN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from realitems import PARCELS, expected, localise, parcels_file, real_item, window, write_raster

from backend import catalogue
from backend.catalogue import add_source
from backend.db import connect
from backend.extraction import radiometry
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings

RNG = np.random.default_rng(17)
ES_NAMES = {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B08": "nir",
            "B8A": "nir08", "B11": "swir16", "B12": "swir22", "SCL": "scl"}


def dn(res: int = 10) -> np.ndarray:
    """Reflectance x 10 000 of one band (what must be stored), 64² at 10 m or 32² at 20 m."""
    n = 64 if res == 10 else 32
    return RNG.integers(200, 6000, (n, n), dtype=np.uint16)


def scl() -> np.ndarray:
    out = np.full((32, 32), 4, np.uint8)
    out[2:7, 10:15] = 9  # parcel B fully under cloud
    return out


def load_parcels(settings: Settings, tmp_path: Path) -> None:
    import_parcels(settings, parcels_file(tmp_path / "parcels.gpkg"), aoi="rd", year=2025)


def save(doc: dict[str, Any], path: Path) -> str:
    import json

    path.write_text(json.dumps(doc))
    return str(path)


def signatures(settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """(item id, pid) -> {band: stats row, 'valid_frac', 'hist'}."""
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT i.item_id, i.bands, p.pid, s.valid_frac, cbm_hist(s.hist) AS hist, "
            "cbm_stats(s.stats) AS stats FROM signatures s "
            "JOIN parcels p ON p.set_id = s.set_id AND p.id = s.parcel_id "
            "JOIN images i ON i.id = s.image_id").fetchall()
    return {(r["item_id"], r["pid"]): {**dict(zip(r["bands"], r["stats"], strict=True)),
                                       "valid_frac": r["valid_frac"], "hist": r["hist"]}
            for r in rows}


def assert_stats(row: list[float], values: np.ndarray) -> None:
    got, want = np.array(row, np.float64), np.array(expected(values))
    np.testing.assert_array_equal(got[[0, 3, 4, 5, 6, 7]], want[[0, 3, 4, 5, 6, 7]])
    np.testing.assert_allclose(got[1:3], want[1:3], rtol=2e-6)


def assert_same(row: list[float], ref: list[float]) -> None:
    got, want = np.array(row, np.float64), np.array(ref, np.float64)
    np.testing.assert_array_equal(got[[0, 3, 4, 5, 6, 7]], want[[0, 3, 4, 5, 6, 7]])
    np.testing.assert_allclose(got[1:3], want[1:3], rtol=1e-6)


# ---------------------------------------------------------------------- CDSE: JP2 in the SAFE


def test_cdse_jp2_native_resolution_offset_and_provenance(clean_db: Settings, tmp_path: Path) -> None:
    """CDSE 1.1 item, baseline 05.11 (raster:offset -0.1): the native-resolution JP2 of each
    band is read, DN - 1000 is stored; the 20 m copy of B02 is not used."""
    load_parcels(clean_db, tmp_path)
    truth = {b: dn(10) for b in ("B02", "B03", "B04", "B08")}
    truth |= {b: dn(20) for b in ("B05", "B8A", "B11", "B12")}
    files = {f"{b}_{10 if a.shape[0] == 64 else 20}m": write_raster(
        tmp_path / f"T33UWP_{b}.jp2", a + 1000, 10 if a.shape[0] == 64 else 20, driver="JP2OpenJPEG")
        for b, a in truth.items()}
    files["B02_20m"] = write_raster(tmp_path / "T33UWP_B02_20m.jp2", dn(20), 20, driver="JP2OpenJPEG")
    files["SCL_20m"] = write_raster(tmp_path / "T33UWP_SCL.jp2", scl(), 20, driver="JP2OpenJPEG", nodata=None)
    doc = localise(real_item("cdse-s2l2a-v110.json"), files)

    result = add_source(clean_db, save(doc, tmp_path / "item.json"))

    assert result.added == 1 and result.by_profile["cdse-s2"]["added"] == 1, result.rejected
    (img,) = catalogue.list_images(clean_db)
    assert img["bands"] == ["B02", "B03", "B04", "B05", "B08", "B8A", "B11", "B12"]
    assert (img["mask"], img["provider"], img["platform"], img["orbit_state"],
            img["relative_orbit"], img["tile"]) == ("SCL", "cdse", "sentinel-2c", "descending",
                                                    122, "33UWP")
    item = catalogue.get_image(clean_db, img["id"])["item"]
    assert item["properties"]["cbm:bands"]["B02"] == {"asset": "B02_10m", "band": None,
                                                      "scale": 1.0, "offset": -1000.0}
    report = extract(clean_db, aoi="rd", year=2025)
    assert (report.done, report.failed) == (1, 0), report.errors
    rows = signatures(clean_db)
    for band, arr in truth.items():
        assert_stats(rows[(doc["id"], "A")][band], window(arr, "A", 10 if arr.shape[0] == 64 else 20))
    assert rows[(doc["id"], "B")]["valid_frac"] == 0  # under cloud: SCL applied


# ---------------------------------------------------------------------- multi-band files


def mosaic(tmp_path: Path) -> tuple[dict[str, np.ndarray], Path]:
    names = ("B02", "B03", "B04", "B08", "B11", "B12")
    truth = {b: dn(10) for b in names}
    path = write_raster(tmp_path / "mosaic.tif", np.stack([truth[b] + 1000 for b in names]), 10)
    return truth, path


def band_entries(names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": ES_NAMES[b], "common_name": ES_NAMES[b]} for b in names]


def test_multiband_file_each_asset_reads_its_own_band(clean_db: Settings, tmp_path: Path) -> None:
    """Earth Search item whose band assets all point into one 6-band GeoTIFF and list its
    bands (eo:bands + raster:bands with scale/offset); a second item with one asset for the
    whole file, located by band name. Both store each band's own values."""
    load_parcels(clean_db, tmp_path)
    truth, path = mosaic(tmp_path)
    names = tuple(truth)
    scl_file = write_raster(tmp_path / "scl.tif", scl(), 20, nodata=None)
    raster = [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}] * 6
    per_asset = localise(real_item("es-v1-s2l2a.json"),
                         {ES_NAMES[b]: path for b in names} | {"scl": scl_file}, item_id="per_asset")
    for b in names:
        per_asset["assets"][ES_NAMES[b]].update({"eo:bands": band_entries(names), "raster:bands": raster})
    one_asset = localise(real_item("es-v1-s2l2a.json"), {"mosaic": path, "scl": scl_file},
                         item_id="one_asset")
    one_asset["assets"]["mosaic"].update({"eo:bands": band_entries(names), "raster:bands": raster})
    one_asset["properties"]["datetime"] = "2025-06-01T10:30:00Z"
    per_asset["properties"]["datetime"] = "2025-06-02T10:30:00Z"

    result = add_source(clean_db, save({"type": "FeatureCollection", "features": [per_asset, one_asset]},
                                       tmp_path / "items.json"))

    assert (result.added, result.rejected) == (2, [])
    assert extract(clean_db, aoi="rd", year=2025).done == 2
    rows = signatures(clean_db)
    for item_id in ("per_asset", "one_asset"):
        for band, arr in truth.items():
            assert_stats(rows[(item_id, "A")][band], window(arr, "A"))
            assert_stats(rows[(item_id, "C")][band], window(arr, "C"))


def test_multiband_file_without_band_names_is_refused(clean_db: Settings, tmp_path: Path) -> None:
    """Assets pointing at one multi-band file without saying which band: refused at
    catalogue time; a single asset on a 3-band file: its job fails with the reason, no rows."""
    load_parcels(clean_db, tmp_path)
    _, path = mosaic(tmp_path)
    shared = localise(real_item("es-v1-s2l2a.json"), {"blue": path, "green": path, "red": path},
                      item_id="shared")
    for key in ("blue", "green", "red"):  # each asset says it is one band (as Earth Search does)
        shared["assets"][key]["eo:bands"] = shared["assets"][key]["eo:bands"][:1]
    single = localise(real_item("es-v1-s2l2a.json"), {"blue": path}, item_id="single")
    single["assets"]["blue"].update({"proj:epsg": 32633, "proj:shape": [64, 64],  # no header read
                                     "proj:transform": [10, 0, 500000, 0, -10, 5350000]})
    single["properties"]["datetime"] = "2025-06-01T10:30:00Z"  # the real one (2023) is out of season
    rejected: list[str] = []

    result = add_source(clean_db, save({"type": "FeatureCollection", "features": [shared, single]},
                                       tmp_path / "items.json"), on_error=lambda r: rejected.append(str(r)))

    assert result.added == 1 and len(rejected) == 1
    assert rejected[0].startswith("shared: bands B02 and B03 would both read band 1 of")
    report = extract(clean_db, aoi="rd", year=2025)
    assert (report.done, report.failed) == (0, 1)
    assert "holds 6 bands and the catalogue does not say which is B02" in report.errors[0][1]
    assert signatures(clean_db) == {}


def test_folder_with_a_described_multiband_mosaic(clean_db: Settings, tmp_path: Path) -> None:
    """A folder of GeoTIFFs: a B02-B03-B04-B08-B11-B12 mosaic named by its band descriptions
    plus the SCL; a 3-band file without descriptions is refused with what to do."""
    load_parcels(clean_db, tmp_path)
    names = ("B02", "B03", "B04", "B08", "B11", "B12")
    truth = {b: dn(10) for b in names}
    folder = tmp_path / "cogs"
    write_raster(folder / f"S2B_20250601T103031_{'-'.join(names)}.tif",
                 np.stack([truth[b] for b in names]), 10, descriptions=names)
    write_raster(folder / "S2B_20250601T103031_SCL.tif", scl(), 20, nodata=None)
    write_raster(folder / "other" / "S2B_20250603_rgb.tif", np.stack([dn(10)] * 3), 10)

    result = add_source(clean_db, str(folder))

    assert result.added == 1
    (rej,) = result.rejected
    assert rej.item_id.endswith("S2B_20250603_rgb.tif") and "without a distinct description" in rej.reason
    (img,) = catalogue.list_images(clean_db)
    assert (img["bands"], img["mask"]) == (list(names), "SCL")
    assert extract(clean_db, aoi="rd", year=2025).done == 1
    rows = signatures(clean_db)
    for band, arr in truth.items():  # no scale declared: DN taken as reflectance x 10 000
        assert_stats(rows[("S2B_20250601T103031", "A")][band], window(arr, "A"))


# ---------------------------------------------------------------------- radiometry


def test_baselines_03_and_05_give_the_same_statistics(clean_db: Settings, tmp_path: Path) -> None:
    """One scene encoded three ways: Planetary Computer baseline 03.01 (DN), baseline 05.11
    with no offset declared (DN + 1000: the baseline's offset applies), and Earth Search
    with raster:offset -0.1 declared (DN + 1000). The stored statistics are the same."""
    load_parcels(clean_db, tmp_path)
    truth = {"B02": dn(10), "B04": dn(10), "B08": dn(10), "B11": dn(20)}
    res = {"B02": 10, "B04": 10, "B08": 10, "B11": 20}
    docs = []
    for day, (name, shift, baseline) in enumerate((("pc03", 0, "03.01"), ("pc05", 1000, "05.11"),
                                                   ("es05", 1000, None)), start=1):
        files = {b: write_raster(tmp_path / name / f"{b}.tif", a + shift, res[b]) for b, a in truth.items()}
        if baseline:
            doc = localise(real_item("pc-s2l2a.json"), files, item_id=name)
            doc["properties"]["s2:processing_baseline"] = baseline
        else:
            doc = localise(real_item("es-v1-s2c1l2a.json"), {ES_NAMES[b]: p for b, p in files.items()},
                           item_id=name)
        doc["properties"]["datetime"] = f"2025-06-0{day}T10:30:00Z"
        docs.append(doc)

    result = add_source(clean_db, save({"type": "FeatureCollection", "features": docs}, tmp_path / "i.json"))

    assert result.added == 3, result.rejected
    assert {r["item_id"]: r["provider"] for r in catalogue.list_images(clean_db)} == {
        "pc03": "planetary-computer", "pc05": "planetary-computer", "es05": "earth-search"}
    assert extract(clean_db, aoi="rd", year=2025).done == 3
    rows = signatures(clean_db)
    for pid in PARCELS:
        for band, arr in truth.items():
            assert_stats(rows[("pc03", pid)][band], window(arr, pid, res[band]))
            for other in ("pc05", "es05"):  # equal; mean/std to float32 precision (offset after rounding)
                assert_same(rows[(other, pid)][band], rows[("pc03", pid)][band])


@pytest.mark.parametrize(("scale", "offset"), [(1.0, -1000.0), (0.5, 3.0), (-2.0, 5.0)])
def test_stats_transform_matches_transformed_pixels(scale: float, offset: float) -> None:
    values = RNG.integers(0, 10_000, 500).astype(np.float64)
    stats = np.array([[expected(values)]], np.float64)
    radiometry.apply(stats, [radiometry.Linear(scale, offset)])
    np.testing.assert_allclose(stats[0, 0], expected(values * scale + offset), rtol=1e-12)


def test_stored_transform_per_kind_and_baseline() -> None:
    to = radiometry.to_stored
    assert to("s2", False, 0.0001, -0.1, (5, 11)) == radiometry.Linear(1.0, -1000.0)
    assert to("s2", False, None, None, (5, 11)) == radiometry.Linear(1.0, -1000.0)
    assert to("s2", False, None, None, (3, 1)) == radiometry.Linear()
    assert to("s2", False, 0.0001, 0.0, (5, 11)) == radiometry.Linear()  # declared offset wins
    assert to("s2", True, 0.0001, -0.1, (5, 11)) == radiometry.Linear()  # SCL never scaled
    assert to("bs", False, None, None, None) == radiometry.Linear()
    assert radiometry.baseline({}, "S2C_MSIL2A_20250330T100051_N0511_R122_T33UWP_20250330T145914") == (5, 11)
    assert radiometry.baseline({"processing:version": "05.11"}) == (5, 11)
    assert radiometry.baseline({}, "S2A_13TDE_20231008_0_L2A") is None


# ---------------------------------------------------------------------- band sets


def test_item_without_scl_or_b05_is_extracted_with_mask_none(clean_db: Settings, tmp_path: Path) -> None:
    """An S2 item with B02, B04, B08 only (no B05, no SCL) is catalogued with those bands and
    mask 'none'; extraction does not crash and stores unmasked statistics, no histogram."""
    load_parcels(clean_db, tmp_path)
    truth = {b: dn(10) for b in ("B02", "B04", "B08")}
    files = {b: write_raster(tmp_path / f"{b}.tif", a, 10) for b, a in truth.items()}
    doc = localise(real_item("pc-s2l2a.json"), files, item_id="three_bands")
    doc["properties"]["s2:processing_baseline"] = "02.14"

    assert add_source(clean_db, save(doc, tmp_path / "i.json")).added == 1
    (img,) = catalogue.list_images(clean_db)
    assert (img["bands"], img["mask"]) == (["B02", "B04", "B08"], "none")
    assert extract(clean_db, aoi="rd", year=2025).done == 1
    rows = signatures(clean_db)
    assert_stats(rows[("three_bands", "B")]["B04"], window(truth["B04"], "B"))  # not masked
    assert rows[("three_bands", "B")]["hist"] is None
