"""Object storage with latency: moto S3 behind a proxy adding 20 ms and 50 ms per request.

The statistics read through ``/vsis3/`` are those of the local files, bit for bit, and only
the windows the parcels need are fetched (bytes counted at the proxy).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from gridtools import rect, write_cog
from reliability.faultproxy import FaultProxy

from backend.extraction.compute import GridCache, ImageResult, compute_image
from backend.extraction.labels import GridSpec, parcel_grid
from backend.extraction.reader import open_groups
from backend.settings import Settings
from backend.storage import raster_env

MASKED = (0, 1, 3, 8, 9, 10, 11)
BANDS = ("B02", "B04", "B11")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    rng = np.random.default_rng(4)
    folder = tmp_path_factory.mktemp("s3lat")
    out = {}
    for band in (*BANDS, "SCL"):
        fine = band in ("B02", "B04")
        shape = (256, 256) if fine else (128, 128)
        arr = (rng.choice(np.array([4, 4, 5, 9], np.uint8), shape) if band == "SCL"
               else rng.integers(1, 9000, shape, dtype=np.uint16))
        out[band] = folder / f"{band}.tif"
        write_cog(out[band], arr, 10 if fine else 20, None if band == "SCL" else 0)
    return out


GEOMS = np.array([rect(3, 5, 40, 30), rect(20, 20, 60, 58), rect(30, 25, 35, 33)], dtype=object)


def _needed_bytes(scene: dict[str, Path]) -> int:
    """Compressed bytes of the blocks under the parcels' windows (TIFF tile byte counts)."""
    total = 0
    for path in scene.values():
        with rasterio.open(path) as ds:
            window = parcel_grid(GEOMS, GridSpec.from_dataset(ds)).window  # type: ignore[union-attr]
            bh, bw = ds.block_shapes[0]
            for r in range(int(window.row_off) // bh, -(-int(window.row_off + window.height) // bh)):
                for c in range(int(window.col_off) // bw, -(-int(window.col_off + window.width) // bw)):
                    total += int(ds.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=1))
    return total


def _compute(hrefs: dict[str, str], remote_workers: int = 1) -> ImageResult:
    geoms = GEOMS
    return compute_image("s2", list(BANDS), open_groups(hrefs), np.arange(1, 4), geoms,
                         scl_classes=MASKED, negative_buffer_m=0.0, cache=GridCache(), cache_key=("s3",),
                         remote_read_workers=remote_workers)


# object-store tuning other than the defaults (bench/s3.py --tune): same statistics expected
TUNED = {"gdal_http_multirange": "SERIAL", "gdal_http_merge_ranges": False, "gdal_vsi_cache_mb": 0,
         "gdal_curl_cache_mb": 32, "remote_read_workers": 7}


def test_tuning_options_reach_gdal() -> None:
    with raster_env(Settings(demo_mode=True)):
        assert rasterio.env.get_gdal_config("GDAL_HTTP_MULTIRANGE") is None  # GDAL's default
        assert rasterio.env.get_gdal_config("GDAL_HTTP_MERGE_CONSECUTIVE_RANGES") == "YES"
        assert rasterio.env.get_gdal_config("VSI_CACHE") == "TRUE"
        assert rasterio.env.get_gdal_config("CPL_VSIL_CURL_CACHE_SIZE") == 16 * 2**20
    with raster_env(Settings(demo_mode=True, gdal_http_version="2", **TUNED)):
        assert rasterio.env.get_gdal_config("GDAL_HTTP_MULTIRANGE") == "SERIAL"
        assert rasterio.env.get_gdal_config("GDAL_HTTP_MERGE_CONSECUTIVE_RANGES") == "NO"
        assert rasterio.env.get_gdal_config("GDAL_HTTP_VERSION") == 2
        assert rasterio.env.get_gdal_config("VSI_CACHE") == "FALSE"
        assert rasterio.env.get_gdal_config("CPL_VSIL_CURL_CACHE_SIZE") == 32 * 2**20
    assert rasterio.env.get_gdal_config("GDAL_HTTP_MULTIRANGE") is None  # scoped to the block


@pytest.mark.parametrize(("delay_ms", "tuning"), [(20, {}), (50, {}), (20, TUNED)],
                         ids=["20ms", "50ms", "20ms-tuned"])
def test_s3_through_latency_matches_local(scene: dict[str, Path], moto_s3: str, delay_ms: int,
                                          tuning: dict[str, object]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://{moto_s3}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    bucket = f"lat{delay_ms}{'t' if tuning else ''}"
    s3.create_bucket(Bucket=bucket)
    for band, path in scene.items():
        s3.upload_file(str(path), bucket, f"t/{band}.tif")
    local = _compute({b: str(p) for b, p in scene.items()})
    with FaultProxy(moto_s3, lambda n: "pass", delay_s=delay_ms / 1000) as proxy:
        settings = Settings(demo_mode=True, s3_endpoint=proxy.endpoint, s3_https=False,
                            s3_access_key_id="test", s3_secret_access_key="test", **tuning)
        t0 = time.perf_counter()
        with raster_env(settings):
            remote = _compute({b: f"s3://{bucket}/t/{b}.tif" for b in scene}, settings.remote_read_workers)
        seconds = time.perf_counter() - t0
    np.testing.assert_array_equal(remote.stats, local.stats)
    np.testing.assert_array_equal(remote.hist, local.hist)
    np.testing.assert_array_equal(remote.n_total, local.n_total)
    assert (remote.stats[:, :, 0] > 0).all()
    file_bytes = sum(p.stat().st_size for p in scene.values())
    needed = _needed_bytes(scene)
    # the parcels' windows are 1/16 of the 10 m bands: no file is downloaded whole. (On files
    # this small GDAL's 16 KiB minimum range per request dominates the amplification printed.)
    assert needed < proxy.bytes_sent < 0.5 * file_bytes
    print(f"{delay_ms} ms: {proxy.requests} requests, {proxy.bytes_sent} bytes fetched for {needed} "
          f"bytes of needed blocks (amplification {proxy.bytes_sent / needed:.2f}; files {file_bytes}), "
          f"{seconds:.2f} s")


def test_a_large_remote_window_fetches_only_its_blocks(tmp_path: Path, moto_s3: str) -> None:
    """A window whose blocks exceed GDAL's multi-range budget (~10 MB): read a row of blocks at
    a time, it fetches its blocks and little more (one read overshot every row past it: 1.4x)."""
    import boto3
    from rasterio.windows import Window

    from backend.extraction.reader import read_ahead

    rng = np.random.default_rng(9)
    arr = rng.integers(0, 60000, (3584, 3072), dtype=np.uint16)  # noise: 22 MB compressed
    path = tmp_path / "noise.tif"
    with rasterio.open(path, "w", driver="COG", width=3072, height=3584, count=1, dtype="uint16",
                       crs="EPSG:32631", transform=rasterio.transform.from_origin(0, 0, 10, 10),
                       blocksize=512, compress="deflate", overviews="NONE") as ds:
        ds.write(arr, 1)
    window = Window(512, 0, 2048, 3584)  # 4 of 6 blocks per row, 7 rows: 14.7 MB of blocks
    with rasterio.open(path) as ds:
        needed = sum(int(ds.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=1))
                     for r in range(7) for c in range(1, 5))
    s3 = boto3.client("s3", endpoint_url=f"http://{moto_s3}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    s3.create_bucket(Bucket="strips")
    s3.upload_file(str(path), "strips", "noise.tif")
    with FaultProxy(moto_s3, lambda n: "pass") as proxy:
        settings = Settings(demo_mode=True, s3_endpoint=proxy.endpoint, s3_https=False,
                            s3_access_key_id="test", s3_secret_access_key="test")
        with raster_env(settings):
            (got,) = list(read_ahead([("s3://strips/noise.tif", window)]))
    np.testing.assert_array_equal(got, arr[:, 512:2560])
    assert needed > 14e6 and proxy.bytes_sent < 1.05 * needed, (proxy.bytes_sent, needed)
