"""A corpus of broken parcel files and images, generated on demand (all small on disk).

Each builder writes one file into a folder and returns its path. ``PARCEL_FILES`` covers what
``tests/test_parcels_import.py`` does not (wrong CRS, zip bombs, non-UTF-8 attributes, huge or
non-finite geometries); ``IMAGE_FILES`` are rasters that must be rejected when catalogued.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box

X0, Y0 = 600_000.0, 5_700_000.0


def _squares(n: int = 3) -> list[Polygon]:
    return [box(X0 + i * 200, Y0, X0 + i * 200 + 100, Y0 + 100) for i in range(n)]


def _fc(features: list[dict], crs: str | None = None) -> bytes:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc).encode()


def _feature(pid: str, coords: list, props: dict | None = None) -> dict:
    return {"type": "Feature", "properties": {"pid": pid, "crop_code": "1", **(props or {})},
            "geometry": {"type": "Polygon", "coordinates": [coords]}}


def wrong_crs(d: Path) -> Path:
    """UTM metres labelled as WGS84 degrees."""
    path = d / "wrong_crs.gpkg"
    gpd.GeoDataFrame({"pid": ["a", "b", "c"], "crop_code": ["1"] * 3}, geometry=_squares(),
                     crs="EPSG:4326").to_file(path)
    return path


def zip_bomb(d: Path) -> Path:
    """~64 MB of whitespace around a tiny GeoJSON, about 64 KB zipped (ratio ~1000)."""
    ring = [[5.0, 52.0], [5.001, 52.0], [5.001, 52.001], [5.0, 52.0]]
    body = b" " * (64 << 20) + _fc([_feature("a", ring)])
    path = d / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("parcels.geojson", body)
    return path


def zip_nested(d: Path) -> Path:
    """A zip holding only another zip (no parcel file at the top)."""
    inner = zip_bomb(d).read_bytes()
    path = d / "nested.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("inner.zip", inner)
    return path


def latin1_geojson(d: Path) -> Path:
    """Attributes in ISO-8859-1 where GeoJSON must be UTF-8."""
    ring = [[5.0, 52.0], [5.001, 52.0], [5.001, 52.001], [5.0, 52.0]]
    text = _fc([_feature("a", ring, {"farmer": "PLACEHOLDER"})])
    text = text.replace(b"PLACEHOLDER", "Müller".encode("latin-1"))
    path = d / "latin1.geojson"
    path.write_bytes(text)
    return path


def nonfinite(d: Path) -> Path:
    """Every geometry with NaN / infinite coordinates."""
    path = d / "nonfinite.geojson"
    feats = [_feature(p, [[5.0, 52.0], [1e400, 52.0], [5.001, 52.001], [5.0, 52.0]]) for p in "abc"]
    path.write_bytes(_fc(feats).replace(b"Infinity", b"1e999"))
    return path


def huge_polygon(d: Path) -> Path:
    """One parcel of 200 000 vertices (a 2 km circle) and two normal ones: big but bounded."""
    t = np.linspace(0, 2 * np.pi, 200_000)
    circle = Polygon(np.column_stack([X0 + 5000 + 1000 * np.cos(t), Y0 + 1000 * np.sin(t)]))
    path = d / "huge.fgb"
    gpd.GeoDataFrame({"pid": ["a", "b", "c"], "crop_code": ["1"] * 3},
                     geometry=[circle, *_squares(2)], crs="EPSG:32631").to_file(path)
    return path


def only_null_geometries(d: Path) -> Path:
    path = d / "nullgeom.geojson"
    path.write_bytes(_fc([{"type": "Feature", "properties": {"pid": p, "crop_code": "1"}, "geometry": None}
                          for p in "abc"]))
    return path


PARCEL_FILES: dict[str, Callable[[Path], Path]] = {
    "wrong_crs": wrong_crs, "zip_bomb": zip_bomb, "zip_nested": zip_nested, "latin1": latin1_geojson,
    "nonfinite": nonfinite, "huge": huge_polygon, "null_geometries": only_null_geometries,
}


def _cog(path: Path, crs: str | None = "EPSG:32631", size: int = 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint16", crs=crs,
                       transform=from_origin(X0, Y0, 10, 10), tiled=True, blockxsize=16,
                       blockysize=16) as ds:
        ds.write(np.ones((size, size), np.uint16), 1)
    return path


def image_item(d: Path, name: str, damage: Callable[[Path], None]) -> Path:
    """An S2 item folder whose B04 is damaged by ``damage``; the other bands are fine."""
    item = d / name / "S2A_MSIL2A_20250601T103031_R008_T31UFU"
    for b in ("B02", "B03", "B04", "B08"):
        _cog(item / f"{b}.tif")
    for b in ("B05", "B11", "SCL"):
        _cog(item / f"{b}.tif", size=32)
    damage(item / "B04.tif")
    return d / name


IMAGE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated_cog_header": lambda p: p.write_bytes(p.read_bytes()[:100]),
    "empty_tif": lambda p: p.write_bytes(b""),
    "text_as_tif": lambda p: p.write_text("<html>404 Not Found</html>"),
    "no_crs": lambda p: _cog(p, crs=None),
    "header_bomb": lambda p: p.write_bytes(_huge_header()),
}


def _huge_header() -> bytes:
    """A 200-byte TIFF that declares 1 000 000 x 1 000 000 pixels (a decompression bomb)."""
    import struct

    entries = [(256, 4, 1, 1_000_000), (257, 4, 1, 1_000_000), (258, 3, 1, 16), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, 1_000_000), (279, 4, 1, 2 << 30)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0" * 4
    return b"II*\x00" + struct.pack("<I", 8) + ifd
