"""Overlapping parcels get exact statistics: every pixel whose centre a parcel contains counts.

The reference is independent of the engine: one ``rasterio.features.geometry_mask`` per
parcel (pixel-centre rule), numpy statistics over the masked values. The engine runs as the
extraction service runs it (``compute_image`` on COGs written here, SCL at 20 m masking the
10 m band), so layers, SCL histogram, ``n_total`` and ``valid_frac`` are all checked.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from gridtools import X0, Y0, rect, write_cog
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from realitems import SHARED_REALDATA
from shapely.affinity import translate
from shapely.geometry import Polygon, box

from backend.extraction.compute import GridCache, ImageResult, compute_image
from backend.extraction.labels import GridSpec, parcel_grid
from backend.extraction.layers import overlap_layers
from backend.extraction.reader import open_groups

MASKED = (0, 1, 3, 8, 9, 10, 11)
BANDS = ("B04", "B11")


def _scene(tmp_path: Path, shape10: tuple[int, int], seed: int = 3) -> dict:
    """B04 (10 m, uint16, nodata 0 here and there), B11 (20 m) and SCL (20 m) as COGs."""
    rng = np.random.default_rng(seed)
    h, w = shape10
    b04 = rng.integers(1, 40, shape10, dtype=np.uint16)  # few values: ties in percentiles
    b04[rng.random(shape10) < 0.05] = 0
    b11 = rng.integers(100, 5000, (h // 2, w // 2), dtype=np.uint16)
    scl = rng.choice(np.array([4, 4, 4, 5, 9, 3], np.uint8), (h // 2, w // 2))
    arrays = {"B04": b04, "B11": b11, "SCL": scl}
    hrefs = {}
    for band, arr in arrays.items():
        path = tmp_path / f"{band}.tif"
        write_cog(path, arr, 10 if band == "B04" else 20, None if band == "SCL" else 0)
        hrefs[band] = str(path)
    return {"arrays": arrays, "hrefs": hrefs}


def _run(scene: dict, geoms: list[Polygon] | np.ndarray) -> ImageResult:
    geoms_arr = np.asarray(geoms, dtype=object)
    return compute_image("s2", list(BANDS), open_groups(scene["hrefs"]), np.arange(1, len(geoms_arr) + 1),
                         geoms_arr, scl_classes=MASKED, negative_buffer_m=0.0, cache=GridCache(),
                         cache_key=("t",))


def _reference(g: Polygon, arrays: dict) -> dict:
    """Statistics of one parcel from its own mask, numpy only."""
    b04, b11, scl = arrays["B04"], arrays["B11"], arrays["SCL"]
    m10 = ~geometry_mask([g], b04.shape, from_origin(X0, Y0, 10, 10))
    m20 = ~geometry_mask([g], b11.shape, from_origin(X0, Y0, 20, 20))
    ok20 = ~np.isin(scl, MASKED)
    ok10 = np.repeat(np.repeat(ok20, 2, 0), 2, 1)[: b04.shape[0], : b04.shape[1]]
    return {"B04": b04[m10 & ok10 & (b04 != 0)], "B11": b11[m20 & ok20 & (b11 != 0)],
            "n_total": int(m10.sum()), "hist": np.bincount(scl[m20], minlength=12)[:12]}


def _assert_exact(result: ImageResult, geoms: list[Polygon] | np.ndarray, arrays: dict) -> None:
    for i, g in enumerate(geoms):
        ref = _reference(g, arrays)
        assert result.n_total[i] == ref["n_total"], i
        np.testing.assert_array_equal(result.hist[i], ref["hist"], err_msg=str(i))
        for j, band in enumerate(BANDS):
            v, got = ref[band].astype(np.float64), result.stats[i, j]
            assert got[0] == v.size, (i, band)
            if not v.size:
                assert np.isnan(got[1:]).all()
                continue
            assert (got[3], got[4]) == (v.min(), v.max()), (i, band)
            np.testing.assert_allclose(got[1:3], [v.mean(), v.std()], rtol=2e-6, atol=1e-4)
            np.testing.assert_array_equal(got[5:], np.percentile(v, [25, 50, 75]).astype(np.float32))
        frac = ref["B04"].size / ref["n_total"] if ref["n_total"] else 0.0
        assert result.valid_frac[i] == pytest.approx(frac, rel=1e-6), i


def _ten_around() -> list[Polygon]:
    """A parcel overlapping ten others, which also overlap their neighbours."""
    big = rect(10, 10, 40, 20)
    return [big] + [rect(9 + 3 * k, 8 + (k % 3), 14 + 3 * k, 13 + (k % 3)) for k in range(10)]


CASES = {
    "partly": [rect(2, 2, 12, 10), rect(8, 5, 20, 14)],
    "inside": [rect(2, 2, 30, 30), rect(10, 10, 14, 13)],
    "inside, listed first": [rect(10, 10, 14, 13), rect(2, 2, 30, 30)],
    "twins": [rect(4, 4, 17, 15), rect(4, 4, 17, 15)],
    "chain of three": [rect(2, 2, 12, 12), rect(9, 4, 20, 14), rect(17, 6, 28, 16)],
    "one overlapping ten": _ten_around(),
    # an edge on a row of pixel centres: GDAL burns that row for both parcels
    "touching on centres": [box(X0, Y0 - 95, X0 + 100, Y0), box(X0, Y0 - 200, X0 + 100, Y0 - 95)],
    "triangle in triangle": [Polygon([(X0, Y0), (X0 + 300, Y0), (X0, Y0 - 300)]),
                             Polygon([(X0 + 33, Y0 - 21), (X0 + 250, Y0 - 37), (X0 + 51, Y0 - 222)])],
}


@pytest.mark.parametrize("case", list(CASES))
def test_overlapping_parcels_match_per_parcel_reference(tmp_path: Path, case: str) -> None:
    scene = _scene(tmp_path, (48, 64))
    geoms = [*CASES[case], rect(50, 30, 60, 40)]  # plus one alone
    _assert_exact(_run(scene, geoms), geoms, scene["arrays"])


def test_layers_only_where_pixels_are_shared() -> None:
    t, shape = from_origin(X0, Y0, 10, 10), (48, 64)
    tiles = [rect(c, r, c + 8, r + 8) for c in range(0, 64, 8) for r in range(0, 48, 8)]
    assert not overlap_layers(np.array(tiles, dtype=object), t, shape).any()  # a tiling: one layer
    twins = np.array([*tiles, tiles[5]], dtype=object)
    layer = overlap_layers(twins, t, shape)
    assert layer[5] != layer[-1] and set(layer[:5]) == {0}
    geoms = np.array(_ten_around(), dtype=object)
    layer = overlap_layers(geoms, t, shape)
    assert layer.max() >= 1 and all(layer[0] != layer[k] for k in range(1, 11))


def test_set_without_shared_pixels_has_one_layer_and_tiling_is_exact(tmp_path: Path) -> None:
    scene = _scene(tmp_path, (48, 64))
    tiles = [rect(c, r, c + 8, r + 8) for c in range(0, 64, 8) for r in range(0, 48, 8)]
    pg = parcel_grid(tiles, GridSpec(from_origin(X0, Y0, 10, 10), (48, 64), block_shape=(16, 16)))
    assert pg is not None and pg.layers == () and pg.members is None
    _assert_exact(_run(scene, tiles), tiles, scene["arrays"])


def test_negative_buffer_separates_parcels_before_layering() -> None:
    grid = GridSpec(from_origin(X0, Y0, 10, 10), (48, 64), block_shape=(16, 16))
    geoms = [rect(2, 2, 12, 10), rect(11, 2, 20, 10)]  # one column shared
    assert parcel_grid(geoms, grid).layers != ()  # type: ignore[union-attr]
    assert parcel_grid(geoms, grid, negative_buffer_m=10).layers == ()  # type: ignore[union-attr]


def _real(code: str, name: str) -> gpd.GeoSeries:
    path = SHARED_REALDATA / "parcels" / code / name
    src = f"zip://{path}" if name.endswith(".zip") else str(path)
    return gpd.read_file(src).geometry.make_valid()


REAL = {"nl": "brpgewaspercelen_definitief_2023.gpkg", "at": "inspire_schlaege_2025-1_polygon.gpkg.zip",
        "dk": "Marker_2026.zip",
        "be_vlg": "Landbouwgebruikspercelen_2023_-_Definitief_(extractie_28-03-2024)_GPKG.zip"}


@pytest.mark.parametrize("code", list(REAL))
def test_real_parcel_sets_with_their_overlaps_match_reference(tmp_path: Path, code: str) -> None:
    """A real set (touching, slightly overlapping parcels) plus shifted copies of ten of its
    parcels (real shapes overlapping real neighbours), on a 10 m raster over its bounds.

    Sets spread wider than 8 km keep their densest 4 km neighbourhood.
    """
    real = _real(code, REAL[code]).values
    centre = shapely.centroid(np.asarray(real, dtype=object))
    dist = shapely.distance(centre[:, None], centre[None, :])
    real = real[dist[int(np.argmax((dist < 4_000).sum(axis=1)))] < 4_000]
    geoms = np.array([*real, *(translate(g, 17, -13) for g in real[:10])], dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    geoms = np.array([translate(g, X0 - minx + 20, Y0 - maxy - 20) for g in geoms], dtype=object)
    h, w = int((maxy - miny) // 20) * 2 + 8, int((maxx - minx) // 20) * 2 + 8
    scene = _scene(tmp_path, (h, w), seed=11)
    result = _run(scene, geoms)
    _assert_exact(result, geoms, scene["arrays"])
    assert real.size >= 10 and (result.n_total > 0).sum() >= real.size // 2
    pg = parcel_grid(geoms, GridSpec(from_origin(X0, Y0, 10, 10), (h, w), block_shape=(16, 16)))
    assert pg is not None and pg.layers  # the shifted copies overlap: more than one layer
