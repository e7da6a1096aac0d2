"""JPEG 2000 bands (as CDSE serves Sentinel-2 L2A: uint16, nodata 0, tiled, lossless) give the
statistics of the same arrays as COGs, bit for bit, through the service's compute path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from gridtools import CRS, X0, Y0, rect, write_cog
from rasterio.transform import from_origin

from backend.extraction.compute import GridCache, compute_image
from backend.extraction.reader import open_groups

BANDS = ("B02", "B04", "B05", "B11")
MASKED = (0, 1, 3, 8, 9, 10, 11)


def _write_jp2(path: Path, arr: np.ndarray, res: float, nodata: int | None) -> None:
    """CDSE layout in small: reversible (lossless) wavelet, tiles, 64² codeblocks."""
    with rasterio.open(path, "w", driver="JP2OpenJPEG", width=arr.shape[1], height=arr.shape[0],
                       count=1, dtype=arr.dtype, crs=CRS, transform=from_origin(X0, Y0, res, res),
                       nodata=nodata, QUALITY=100, REVERSIBLE="YES", BLOCKXSIZE=64, BLOCKYSIZE=64,
                       CODEBLOCK_WIDTH=64, CODEBLOCK_HEIGHT=64, RESOLUTIONS=3) as ds:
        ds.write(arr, 1)


@pytest.fixture()
def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(9)
    out = {b: rng.integers(0, 12000, (160, 192), dtype=np.uint16) for b in ("B02", "B04")}
    out |= {b: rng.integers(0, 12000, (80, 96), dtype=np.uint16) for b in ("B05", "B11")}
    for arr in out.values():
        arr[:7, :] = 0  # nodata strip (the swath edge)
    out["SCL"] = rng.choice(np.array([4, 5, 8, 9, 3, 0], np.uint8), (80, 96))
    return out


def _stats(folder: Path, writer, arrays: dict[str, np.ndarray], suffix: str):
    hrefs = {}
    for band, arr in arrays.items():
        path = folder / f"{band}.{suffix}"
        writer(path, arr, 10 if arr.shape == (160, 192) else 20, None if band == "SCL" else 0)
        hrefs[band] = str(path)
    geoms = np.array([rect(2, 0, 40, 30), rect(30, 20, 90, 70), rect(100, 100, 190, 158),
                      rect(120, 110, 130, 120)], dtype=object)  # the last overlaps the third
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        groups = open_groups(hrefs)
        res = compute_image("s2", list(BANDS), groups, np.arange(1, 5), geoms, scl_classes=MASKED,
                            negative_buffer_m=0.0, cache=GridCache(), cache_key=(suffix,))
    return res, groups


def test_jp2_statistics_identical_to_cog(tmp_path: Path, arrays: dict[str, np.ndarray]) -> None:
    (tmp_path / "jp2").mkdir()
    (tmp_path / "cog").mkdir()
    jp2, groups = _stats(tmp_path / "jp2", _write_jp2, arrays, "jp2")
    cog, _ = _stats(tmp_path / "cog", write_cog, arrays, "tif")
    with rasterio.open(tmp_path / "jp2" / "B02.jp2") as ds:
        assert ds.driver == "JP2OpenJPEG" and ds.block_shapes[0][0] == 64 and ds.nodata == 0
        np.testing.assert_array_equal(ds.read(1), arrays["B02"])  # lossless
    assert {g.grid.block_shape[0] for g in groups} == {64}
    assert (jp2.stats[:, :, 0] > 0).all()
    np.testing.assert_array_equal(jp2.stats, cog.stats)
    np.testing.assert_array_equal(jp2.hist, cog.hist)
    np.testing.assert_array_equal(jp2.n_total, cog.n_total)
    np.testing.assert_array_equal(jp2.valid_frac, cog.valid_frac)
