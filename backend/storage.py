"""The one place that configures GDAL/rasterio and object-store access.

All raster IO runs inside :func:`raster_env`, built from settings: local paths, ``s3://`` hrefs
(through GDAL's ``/vsis3/`` with range requests, against AWS or any S3-compatible endpoint such
as Copernicus Data Space ``eodata`` or a moto server in tests) and ``https://`` hrefs.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import rasterio
from rasterio.session import AWSSession

from backend.errors import ImageReadError
from backend.settings import Settings

log = logging.getLogger(__name__)


def gdal_options(settings: Settings) -> dict[str, Any]:
    """GDAL configuration options for cloud-optimised reads (object-store tuning from settings).

    See bench/s3.py for what each option costs or saves on a tile behind 20/50 ms latency.
    """
    options: dict[str, Any] = {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES" if settings.gdal_http_merge_ranges else "NO",
        "GDAL_HTTP_MULTIPLEX": "YES",
        "GDAL_HTTP_TIMEOUT": settings.http_timeout_s,
        "GDAL_HTTP_MAX_RETRY": settings.http_max_retry,
        "GDAL_HTTP_RETRY_DELAY": 0.5,
        # bytes: rasterio.Env hands an int to GDALSetCacheMax64 (256 would be a 256-byte block
        # cache, and a chip window across block boundaries decoded its blocks once per row: 2.7 s)
        "GDAL_CACHEMAX": settings.gdal_cache_mb * 1024 * 1024,
        "VSI_CACHE": "TRUE" if settings.gdal_vsi_cache_mb else "FALSE",
        "VSI_CACHE_SIZE": max(1, settings.gdal_vsi_cache_mb) * 1024 * 1024,
        "CPL_VSIL_CURL_CACHE_SIZE": settings.gdal_curl_cache_mb * 1024 * 1024,
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.jp2,.vrt",
        "AWS_HTTPS": "YES" if settings.s3_https else "NO",
        "AWS_VIRTUAL_HOSTING": "TRUE" if settings.s3_virtual_hosting else "FALSE",
    }
    if settings.gdal_http_multirange:
        options["GDAL_HTTP_MULTIRANGE"] = settings.gdal_http_multirange
    if settings.gdal_http_version:
        options["GDAL_HTTP_VERSION"] = settings.gdal_http_version
    return options


def aws_session(settings: Settings) -> AWSSession:
    """The rasterio AWS session for the configured endpoint and credentials (built once)."""
    key = settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None
    secret = (settings.s3_secret_access_key.get_secret_value()
              if settings.s3_secret_access_key else None)
    return _session(key, secret, settings.s3_region, settings.s3_endpoint, settings.s3_unsigned,
                    settings.s3_request_payer)


@functools.lru_cache(maxsize=8)
def _session(key: str | None, secret: str | None, region: str, endpoint: str | None,
             unsigned: bool, requester_pays: bool = False) -> AWSSession:
    # Building a boto3 session costs ~16 ms: do it once per configuration, not per read.
    # requester_pays sends AWS_REQUEST_PAYER=requester (the reader's account pays the egress).
    return AWSSession(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region,
                      endpoint_url=endpoint, aws_unsigned=unsigned, requester_pays=requester_pays)


# How hrefs are signed before they are opened inside the current raster_env (None: as they are).
_SIGNER: contextvars.ContextVar[Callable[[str], str] | None] = contextvars.ContextVar(
    "cbm_href_signer", default=None)
_PC_BLOB = ".blob.core.windows.net/"


def planetary_computer_sign(href: str) -> str:
    """A Planetary Computer blob href with a SAS token (``planetary-computer``; token cached).

    Hrefs not on Azure blob storage, or already carrying a signature, are returned as they are.

    Raises:
        ImageReadError: the token service cannot be reached or refuses.
    """
    if _PC_BLOB not in href or "sig=" in href:
        return href
    import planetary_computer

    try:
        return str(planetary_computer.sign(href))
    except Exception as exc:  # requests/urllib3/HTTP errors of the token service
        raise ImageReadError(f"cannot sign {href} with a Planetary Computer SAS token: {exc}") from None


@contextlib.contextmanager
def raster_env(settings: Settings) -> Iterator[rasterio.Env]:
    """A ``rasterio.Env`` configured from settings; open every raster inside one.

    With ``settings.pc_sign`` every Planetary Computer blob href opened inside is signed first.
    """
    token = _SIGNER.set(planetary_computer_sign if settings.pc_sign else None)
    try:
        with rasterio.Env(session=aws_session(settings), **gdal_options(settings)) as env:
            yield env
    finally:
        _SIGNER.reset(token)


def open_raster(href: str) -> rasterio.io.DatasetReader:
    """Open a raster href (local path, ``s3://``, ``https://``) inside :func:`raster_env`.

    Raises:
        ImageReadError: the file is missing, unreachable or not a readable raster.
    """
    signer = _SIGNER.get()
    if signer is not None:
        href = signer(href)
    try:
        return rasterio.open(href)
    except rasterio.errors.RasterioIOError as exc:
        forget_cached(href)
        raise ImageReadError(f"cannot read {href}: {exc}") from None


def forget_cached(href: str) -> None:
    """Drop GDAL's cached state of a remote href after a failed open or read.

    GDAL's ``/vsicurl`` cache keeps a region whose download failed (e.g. a connection dropped
    mid-body): every later read of that file in this process then fails without a new request,
    so a retry could never succeed. Opening and closing the file once with the href in
    ``CPL_VSIL_CURL_NON_CACHED`` clears its cache entries. Local paths are left alone.
    """
    if href.startswith("s3://"):
        vsi = "/vsis3/" + href.removeprefix("s3://")
    elif href.startswith(("http://", "https://")):
        vsi = "/vsicurl/" + href
    else:
        return
    try:
        with rasterio.Env(CPL_VSIL_CURL_NON_CACHED=vsi), rasterio.open(href):
            pass
    except rasterio.errors.RasterioIOError:
        pass
    log.debug("cleared GDAL's cache of %s after a failed read", href)
