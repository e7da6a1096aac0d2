"""Label rasters: pixel-centre rule, buffers, holes, windows, per-resolution grids."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window
from shapely.geometry import MultiPolygon, Polygon, box

from backend.errors import InvalidInput
from backend.extraction.labels import (
    GridSpec,
    block_windows_for_bounds,
    coarse_slices,
    label_raster,
    parcel_grid,
    parcel_grids,
    window_for_bounds,
)
from backend.extraction.pixels import mask_to_finer, valid_mask_from_scl

# 10 m grid, origin (0, 100): pixel (r, c) has its centre at (5 + 10 c, 95 - 10 r).
T10 = Affine(10, 0, 0, 0, -10, 100)
SHAPE = (10, 10)


def test_pixel_centre_rule() -> None:
    # x in [0, 24] covers centres 5 and 15; y in [76, 100] covers centres 95 and 85.
    lab = label_raster([box(0, 76, 24, 100)], [7], T10, SHAPE)
    expected = np.zeros(SHAPE, np.int32)
    expected[0:2, 0:2] = 7
    assert lab.dtype == np.int32
    np.testing.assert_array_equal(lab, expected)


def test_parcel_smaller_than_a_pixel_without_centre_gets_nothing() -> None:
    lab = label_raster([box(11, 81, 14, 84)], [1], T10, SHAPE)  # no centre (15, 85) inside
    assert not lab.any()
    lab = label_raster([box(13, 83, 17, 87)], [1], T10, SHAPE)  # centre (15, 85) inside
    assert lab.sum() == 1 and lab[1, 1] == 1


def test_parcel_on_image_edge_is_clipped() -> None:
    lab = label_raster([box(-30, -30, 18, 100)], [2], T10, SHAPE)
    assert (lab[:, 0] == 2).all() and (lab[:, 1] == 2).all() and not lab[:, 2:].any()


def test_hole_and_multipolygon() -> None:
    outer = [(0, 50), (50, 50), (50, 100), (0, 100)]
    hole = [(20, 70), (30, 70), (30, 80), (20, 80)]  # contains centre (25, 75) = pixel (2, 2)
    ring = Polygon(outer, [hole])
    multi = MultiPolygon([box(60, 0, 70, 10), box(80, 20, 100, 30)])
    lab = label_raster([ring, multi], [1, 2], T10, SHAPE)
    assert lab[2, 2] == 0
    assert (lab[0:5, 0:5] == 1).sum() == 24
    assert lab[9, 6] == 2 and lab[7, 8] == 2 and lab[7, 9] == 2
    assert (lab == 2).sum() == 3


def test_negative_buffer_drops_border_pixels_and_small_parcels() -> None:
    big, small = box(0, 50, 50, 100), box(60, 0, 75, 15)
    lab = label_raster([big, small], [1, 2], T10, SHAPE, negative_buffer_m=10)
    expected = np.zeros(SHAPE, np.int32)
    expected[1:4, 1:4] = 1  # [10, 40] keeps centres 15, 25, 35
    np.testing.assert_array_equal(lab, expected)  # the 15 m parcel vanished


def test_overlap_later_parcel_wins() -> None:
    lab = label_raster([box(0, 50, 50, 100), box(20, 50, 50, 100)], [1, 2], T10, SHAPE)
    assert (lab[:5, :2] == 1).all() and (lab[:5, 2:5] == 2).all()


def test_label_raster_rejects_bad_ids() -> None:
    with pytest.raises(InvalidInput):
        label_raster([box(0, 0, 1, 1)], [0], T10, SHAPE)
    with pytest.raises(InvalidInput):
        label_raster([box(0, 0, 1, 1)], [1, 2], T10, SHAPE)


def test_window_is_block_aligned_and_clipped() -> None:
    grid = GridSpec(Affine(10, 0, 0, 0, -10, 10_000), (1000, 1000), "EPSG:32631", (256, 256))
    # x 3000..3100 -> cols 300..310; y 9000..9100 -> rows 90..100
    w = window_for_bounds([(3000, 9000, 3100, 9100)], grid)
    assert w == Window(256, 0, 256, 256)
    w = window_for_bounds([(3000, 9000, 3100, 9100), (9000, 100, 9900, 200)], grid)
    assert w == Window(256, 0, 1000 - 256, 1000)  # right/bottom edge clipped to the image
    assert window_for_bounds([(-500, -500, -100, -100)], grid) is None
    blocks = block_windows_for_bounds([(3000, 9000, 3100, 9100), (9000, 100, 9900, 200)], grid)
    assert blocks == [Window(256, 0, 256, 256), Window(768, 768, 232, 232)]


def test_grid_spec_validates() -> None:
    with pytest.raises(InvalidInput):
        GridSpec(Affine(10, 0, 0, 0, 10, 0), (10, 10))
    with pytest.raises(InvalidInput):
        GridSpec(T10, (0, 10))


def _grids() -> dict[str, GridSpec]:
    t10 = Affine(10, 0, 500_000, 0, -10, 6_000_000)
    t20 = Affine(20, 0, 500_000, 0, -20, 6_000_000)
    return {
        "10m": GridSpec(t10, (1098, 1098), "EPSG:32631", (64, 64)),
        "20m": GridSpec(t20, (549, 549), "EPSG:32631", (64, 64)),
    }


def test_parcel_grid_matches_full_raster_and_each_resolution_is_rasterised() -> None:
    grids = _grids()
    geoms = [box(502_013, 5_992_007, 502_377, 5_992_511), box(503_001, 5_991_000, 503_333, 5_991_200)]
    pg = parcel_grids(geoms, grids)
    for name, grid in grids.items():
        g = pg[name]
        assert g is not None and g.n_labels == 2 and g.crs == "EPSG:32631"
        full = label_raster(geoms, [1, 2], grid.transform, grid.shape)
        r, c = g.offset
        h, w = g.labels.shape
        np.testing.assert_array_equal(g.labels, full[r : r + h, c : c + w])
        assert full.sum() == g.labels.sum()
        assert r % 64 == 0 and c % 64 == 0
        assert g.pixels.n_total.tolist() == [(full == 1).sum(), (full == 2).sum()]


def test_coarse_slices_and_mask_to_finer_follow_the_20m_pixel() -> None:
    grids = _grids()
    geoms = [box(501_000, 5_990_000, 504_000, 5_995_555)]
    g10 = parcel_grid(geoms, grids["10m"])
    g20 = parcel_grid(geoms, grids["20m"])
    assert g10 is not None and g20 is not None
    rng = np.random.default_rng(3)
    scl = rng.integers(0, 12, g20.labels.shape).astype(np.uint8)
    mask20 = valid_mask_from_scl(scl, {0, 3, 8, 9, 10})
    rs, cs = coarse_slices(g10, g20)
    mask10 = mask_to_finer(mask20[rs, cs], g10.labels.shape)
    assert mask10.shape == g10.labels.shape
    # every 10 m pixel takes the 20 m pixel that contains its centre
    rows, cols = np.indices(mask10.shape)
    x, y = g10.transform @ (cols + 0.5, rows + 0.5)
    c20, r20 = ~g20.transform @ (x, y)
    np.testing.assert_array_equal(mask10, mask20[r20.astype(int), c20.astype(int)])


def test_no_parcel_on_the_image_gives_none() -> None:
    assert parcel_grid([box(0, 0, 10, 10)], _grids()["10m"]) is None
