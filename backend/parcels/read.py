"""Read a parcel file into a GeoDataFrame.

Formats: GeoPackage, Shapefile (also zipped), GeoJSON, FlatGeobuf (via pyogrio with Arrow)
and GeoParquet (via geopandas).

INSPIRE GML keeps xlinks as ``<element>_href`` / ``<element>_title`` columns (GDAL's
``GML_ATTRIBUTES_TO_OGR_FIELDS``), so a crop carried by ``specificLandUse`` can be mapped.
Library warnings (e.g. pyogrio's ``Field format ... not supported``, once per field) are
collected, counted per message and kept in ``gdf.attrs["library_warnings"]`` for the report
instead of being printed.

Every way a file can be unusable (missing, corrupt, not geospatial, empty, ambiguous layer)
becomes one :class:`InvalidInput` whose message names the file and what to do.
"""

from __future__ import annotations

import io
import logging
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pyarrow as pa
import pyogrio
import pyogrio.errors
import shapely.errors

from backend.errors import InvalidInput
from backend.parcels.containers import extracted_7z, is_7z, is_zip, refuse_archive, zip_member

log = logging.getLogger(__name__)

PARQUET_SUFFIXES = (".parquet", ".geoparquet")
_MAX_REASON = 160
FORMATS_HINT = "GeoPackage, Shapefile (or zipped), GeoJSON, FlatGeobuf or GeoParquet"


def read_parcels(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read the features of a parcel file (geometry column named ``geometry``).

    Args:
        path: the file; a zip (told by its first bytes, whatever its name) is read through
            GDAL's ``/vsizip/``; a 7z is unpacked to a temporary directory; rar is refused.
        layer: layer to read; required when the file has several spatial layers.

    Raises:
        InvalidInput: the file is missing, unreadable, not geospatial or has no features.
    """
    if not path.is_file():
        raise InvalidInput(f"parcel file {path} not found")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{path.name} is empty (0 bytes): export the parcels again as "
                           f"{FORMATS_HINT}")
    with _collected_warnings() as seen:
        gdf = _read(path, layer)
    counts = Counter(gdf.attrs.get("library_warnings", {})) + Counter(seen)  # a 7z reads twice
    gdf.attrs["library_warnings"] = dict(counts.most_common())
    if seen:
        log.info("%s: %d library warnings (see the report)", path.name, len(seen))
    return gdf


@contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """Catch the warnings raised inside (their messages, in order) instead of printing them."""
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield seen
    seen.extend(str(w.message) for w in caught)


@contextmanager
def _gml_xlinks() -> Iterator[None]:
    """GML attributes (xlink:href, xlink:title) as columns, for the duration of a read."""
    key = "GML_ATTRIBUTES_TO_OGR_FIELDS"
    old = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "YES"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: old})


def _read(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    refuse_archive(path)
    if is_7z(path):
        with extracted_7z(path, layer) as (inner, inner_layer):
            return read_parcels(inner, inner_layer)
    source, member = str(path), None
    if is_zip(path):
        member, layer = zip_member(path, layer)
        source = f"/vsizip/{{{path}}}" + (f"/{member}" if member else "")  # braces: any file name
    parquet = (member or path.name).lower().endswith(PARQUET_SUFFIXES)
    gdf = _read_geoparquet(path, member) if parquet else _read_ogr(path, source, layer)
    if len(gdf) == 0:
        raise InvalidInput(f"{path.name} has no features: nothing to import")
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    log.info("read %d features from %s (crs %s)", len(gdf), path.name,
             gdf.crs.to_string() if gdf.crs else None)
    return gdf


def _read_geoparquet(path: Path, member: str | None) -> gpd.GeoDataFrame:
    try:
        if member is None:
            return gpd.read_parquet(path)
        with zipfile.ZipFile(path) as zf:
            return gpd.read_parquet(io.BytesIO(zf.read(member)))
    except (ValueError, OSError, pa.ArrowException) as exc:
        reason = _first_line(exc, path)
        if "geo metadata" in reason.lower():
            raise InvalidInput(f"{path.name} is a Parquet file without geometry (no 'geo' "
                               f"metadata): export it as GeoParquet or {FORMATS_HINT}") from None
        raise InvalidInput(f"cannot read {path.name} as GeoParquet ({reason}): "
                           f"check the file or export it as {FORMATS_HINT}") from None


def _read_ogr(path: Path, source: str, layer: str | None) -> gpd.GeoDataFrame:
    with _gml_xlinks():
        return _read_ogr_layer(path, source, layer)


def _read_ogr_layer(path: Path, source: str, layer: str | None) -> gpd.GeoDataFrame:
    name = _choose_layer(path, source, layer)
    try:
        gdf = pyogrio.read_dataframe(source, layer=name, use_arrow=True)
    except shapely.errors.GEOSException as exc:
        raise InvalidInput(f"cannot decode the geometries of {path.name} ({_first_line(exc)}): "
                           "curved geometries are not supported, convert them to polygons"
                           ) from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InvalidInput(f"cannot read layer {name!r} of {path.name} ({_first_line(exc, path)}): "
                           f"check the file or export it as {FORMATS_HINT}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InvalidInput(f"{path.name} is not a geospatial file (no geometry column): "
                           f"export the parcels as {FORMATS_HINT}")
    _check_text(gdf, path)
    return gdf


def _check_text(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Refuse Arrow text columns holding bytes that are not UTF-8 (they fail later, unclearly)."""
    for name in gdf.columns:
        to_arrow = getattr(gdf[name].array, "__arrow_array__", None)
        if to_arrow is None:
            continue
        try:
            to_arrow().validate(full=True)
        except pa.ArrowInvalid:
            raise InvalidInput(f"{path.name}: column {name!r} is not valid UTF-8 text; export the file "
                               "as UTF-8 (a shapefile: add a .cpg naming its encoding, e.g. LATIN1)"
                               ) from None


def _choose_layer(path: Path, source: str, layer: str | None) -> str:
    try:
        layers = pyogrio.list_layers(source)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InvalidInput(f"cannot open {path.name}: not a readable vector file or corrupt "
                           f"({_first_line(exc, path)}); export the parcels as {FORMATS_HINT}") from None
    spatial = [str(name) for name, geom_type in layers if geom_type is not None]
    if layer is not None:
        if layer not in spatial:
            raise InvalidInput(f"{path.name} has no spatial layer {layer!r}; "
                               f"its spatial layers: {', '.join(spatial) or '(none)'}")
        return layer
    if not spatial:
        raise InvalidInput(f"{path.name} is not a geospatial file (no layer with geometries): "
                           f"export the parcels as {FORMATS_HINT}")
    if len(spatial) > 1:
        raise InvalidInput(f"{path.name} has {len(spatial)} spatial layers: "
                           f"{', '.join(spatial)}; choose one with --layer NAME (or layer: in the "
                           "mapping file)")
    return spatial[0]


def _first_line(exc: BaseException, path: Path | None = None) -> str:
    """The gist of a library error: first line, first clause, file path shortened to its name."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    text = text.splitlines()[0].split("; ")[0].rstrip(".;")
    if path is not None:
        text = text.replace(f"/vsizip/{{{path}}}", path.name).replace(str(path), path.name)
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON - 1] + "…"
