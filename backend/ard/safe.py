"""Sentinel-1 GRD sources: a ``.SAFE`` folder or zip, local or on S3, or a STAC item of one.

Every source becomes a local ``.SAFE`` folder (a zip is unpacked, an S3 prefix downloaded) that
is checked before any processing: the manifest, the product type (GRD, not SLC), and for each
polarisation its annotation, calibration XML and measurement TIFF, readable to the last row.
Reading the SAR metadata is xarray-sentinel's job; this module only finds and checks the files.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import rasterio
from rasterio.errors import RasterioError

from backend.errors import InvalidInput
from backend.settings import Settings

# S1A_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371
_NAME = re.compile(r"(S1[A-D])_(IW|EW|SM|S[1-6]|WV)_(GRD[FHM]|SLC_|RAW_|OCN_)_"
                   r"1S(DV|DH|SV|SH|HH|HV|VV|VH)_(\d{8}T\d{6})_\d{8}T\d{6}_(\d{6})_")


@dataclass(frozen=True)
class GrdFiles:
    """A checked local GRD product: its folder, name parts and polarisations with their files."""

    safe: Path
    platform: str
    mode: str
    start: str
    absolute_orbit: int
    polarisations: tuple[str, ...]


def parse_name(name: str) -> re.Match[str]:
    """Parse a Sentinel-1 product name; refuse what is not one, or is not a GRD."""
    m = _NAME.match(name)
    if m is None:
        raise InvalidInput(f"{name!r} is not a Sentinel-1 product name (S1A_IW_GRDH_1SDV_...): give the "
                           ".SAFE folder or zip of a GRD product")
    if not m.group(3).startswith("GRD"):
        raise InvalidInput(f"{name} is a {m.group(3).rstrip('_')} product, not GRD: `cbm card s1` makes "
                           "backscatter from GRD products (SLC pairs are for coherence, which is made "
                           "elsewhere, see the README)")
    return m


def check_safe(safe: Path) -> GrdFiles:
    """Check a local ``.SAFE`` folder of a GRD product before processing.

    Raises:
        InvalidInput: not a SAFE folder, not GRD, or a polarisation's annotation, calibration
            XML or measurement is missing, empty or truncated.
    """
    if not (safe / "manifest.safe").is_file():
        raise InvalidInput(f"{safe} has no manifest.safe: not a complete .SAFE product folder")
    m = parse_name(safe.name)
    measurements = sorted((safe / "measurement").glob("s1?-*-grd-*.tiff"))
    if not measurements:
        raise InvalidInput(f"{safe.name}: no measurement/*.tiff (truncated download?)")
    pols = []
    for tiff in measurements:
        stem = tiff.name[: -len(".tiff")]
        pol = stem.split("-")[3].upper()
        for xml in (safe / "annotation" / f"{stem}.xml",
                    safe / "annotation" / "calibration" / f"calibration-{stem}.xml"):
            if not xml.is_file() or xml.stat().st_size == 0:
                raise InvalidInput(f"{safe.name}: {xml.relative_to(safe)} is missing or empty; "
                                   f"{pol} cannot be calibrated (download the product again)")
        _check_tiff(tiff, safe.name)
        pols.append(pol)
    return GrdFiles(safe, m.group(1), m.group(2), m.group(5), int(m.group(6)), tuple(pols))


def _check_tiff(tiff: Path, name: str) -> None:
    """Every block of the TIFF lies inside the file (a cut download ends mid-block)."""
    size = tiff.stat().st_size
    try:
        with rasterio.open(tiff) as src:
            bh, bw = src.block_shapes[0]
            end = 0
            for row in range(0, src.height, bh):
                for col in range(0, src.width, bw):
                    key = f"{col // bw}_{row // bh}"
                    offset = int(src.get_tag_item(f"BLOCK_OFFSET_{key}", "TIFF", bidx=1) or 0)
                    if offset:
                        end = max(end, offset + int(src.get_tag_item(f"BLOCK_SIZE_{key}", "TIFF", bidx=1)))
    except (RasterioError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}: measurement {tiff.name} cannot be read (truncated?): {exc}") from None
    if end > size:
        raise InvalidInput(f"{name}: measurement {tiff.name} is truncated: {size} bytes, its blocks "
                           f"need {end} (download the product again)")


@contextlib.contextmanager
def local_safe(settings: Settings, source: str) -> Iterator[Path]:
    """Yield a local ``.SAFE`` folder for a folder, zip, ``s3://`` prefix/zip or STAC item.

    Temporary copies (unpacked zip, downloaded prefix) are removed on exit.
    """
    if source.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="cbm-safe-") as tmp:
            local = _download_s3(settings, source, Path(tmp))
            with local_safe(settings, str(local)) as safe:
                yield safe
        return
    path = Path(source)
    if path.suffix.lower() == ".json":
        with local_safe(settings, _item_product_href(path)) as safe:
            yield safe
        return
    if path.is_dir():
        yield path
        return
    if path.suffix.lower() == ".zip" and path.is_file():
        with tempfile.TemporaryDirectory(prefix="cbm-safe-") as tmp:
            yield _unzip(path, Path(tmp))
        return
    raise InvalidInput(f"{source}: not a .SAFE folder, .zip, s3:// product or STAC item file")


def _unzip(path: Path, tmp: Path) -> Path:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            tops = {n.split("/")[0] for n in names}
            if len(tops) != 1 or not next(iter(tops)).endswith(".SAFE") or any(
                    ".." in n.split("/") or n.startswith("/") for n in names):
                raise InvalidInput(f"{path.name}: a product zip holds exactly one .SAFE folder")
            zf.extractall(tmp)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InvalidInput(f"{path.name}: unreadable zip (truncated download?): {exc}") from None
    return tmp / next(iter(tops))


def _item_product_href(path: Path) -> str:
    """The SAFE (folder, zip or manifest) an item of a GRD product points to."""
    try:
        item = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a readable STAC item: {exc}") from None
    for asset in (item.get("assets") or {}).values():
        href = str(asset.get("href", "")).rstrip("/")
        if href.endswith("/manifest.safe"):
            href = href[: -len("/manifest.safe")]
        if href.endswith((".SAFE", ".zip")):
            if "://" not in href and not href.startswith("/"):
                href = str((path.parent / href).resolve())
            return href
    raise InvalidInput(f"{path}: item {item.get('id')!r} has no asset pointing at the product's .SAFE "
                       "folder, zip or manifest.safe (items of per-band COGs cannot be calibrated)")


def _download_s3(settings: Settings, url: str, tmp: Path) -> Path:
    from backend.storage import aws_session

    bucket, _, prefix = url[len("s3://"):].rstrip("/").partition("/")
    client = aws_session(settings)._session.client(
        "s3", endpoint_url=_endpoint(settings), region_name=settings.s3_region)
    if prefix.endswith(".zip"):
        target = tmp / Path(prefix).name
        client.download_file(bucket, prefix, str(target))
        return target
    safe = tmp / Path(prefix).name
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix + "/") for o in page.get("Contents", [])]
    if not keys:
        raise InvalidInput(f"{url}: no objects under this prefix")
    for key in keys:
        target = safe / key[len(prefix) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(target))
    return safe


def _endpoint(settings: Settings) -> str | None:
    if not settings.s3_endpoint:
        return None
    return f"{'https' if settings.s3_https else 'http'}://{settings.s3_endpoint}"

