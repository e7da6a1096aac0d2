"""Import and delete parcel sets: read, map columns, validate, report, write (all or nothing)."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from backend.db import connect
from backend.db import queries_parcels as q
from backend.errors import InvalidInput, ParcelSetNotFound
from backend.parcels.columns import attrs_json, sort_order
from backend.parcels.crops import read_crop_table
from backend.parcels.crs import NativeCrs, to_native_crs
from backend.parcels.ids import ID_SEPARATOR, ROW_ID_WARNING, crop_values, parcel_ids
from backend.parcels.mapping import ColumnMapping, ResolvedColumns, resolve_columns
from backend.parcels.overlaps import find_overlaps, overlap_rows, refuse_overlaps
from backend.parcels.read import read_parcels
from backend.parcels.report import (
    ReportRow,
    build_rows,
    crop_rows,
    default_report_path,
    summarize,
    write_report,
)
from backend.parcels.validate import Outcome, Validation, validate_rows
from backend.parcels.write import PreparedSet, already_exists, extent_wkt_4326, parcel_table
from backend.parcels.write import write_set as _write_set
from backend.settings import Settings

log = logging.getLogger(__name__)

_AOI = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_PTYPE = re.compile(r"^[a-z0-9_]{0,16}$")

Extent = tuple[float, float, float, float]


@dataclass
class ImportResult:
    """Outcome of :func:`import_parcels`."""

    set_id: int
    n_read: int
    n_imported: int
    n_repaired: int
    n_rejected: int
    report: list[ReportRow]
    report_path: Path
    seconds: float
    srid: int = 0
    n_jobs: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # read, validate, write (s)
    warnings: list[str] = field(default_factory=list)  # e.g. row-number ids, a forced CRS


def import_parcels(settings: Settings, path: str | Path, *, aoi: str, year: int, ptype: str = "",
                   mapping: ColumnMapping | None = None, crs: str | None = None,
                   force_crs: bool = False, skip_invalid: bool = False, replace: bool = False,
                   report_path: Path | None = None, aoi_extent: Extent | None = None,
                   progress: bool = False) -> ImportResult:
    """Import a parcel file as the parcel set (aoi, year, ptype), all or nothing.

    Any rejected row (duplicate or missing id, unusable geometry, ...) refuses the import as
    a whole, with the per-row report, unless ``skip_invalid``: then the other rows are
    imported and :attr:`ImportResult.n_rejected` says how many were left out.

    Args:
        settings: project settings (database, ``var_dir`` for the default report path).
        path: GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet or GML file, or a zip or
            7z holding one.
        aoi: area of interest, e.g. ``nl``.
        year: the year of the parcels.
        ptype: optional parcel type, e.g. ``g`` for grassland ("" = none).
        mapping: source columns of pid, crop code and crop name (and the layer); guessed if unset.
        crs: CRS of the coordinates (e.g. ``EPSG:28992``) of a file that declares none.
        force_crs: ``crs`` replaces the CRS the file declares (a warning in the report).
        skip_invalid: import the valid rows when some are rejected (never when all are).
        replace: replace an existing set with the same key (in the same transaction).
        report_path: where to write the per-row report (``.json`` or CSV); default
            ``var_dir/reports/<aoi>_<year>_<timestamp>.csv``.
        aoi_extent: ``(minx, miny, maxx, maxy)`` in WGS84; parcels outside it are rejected.
        progress: show a progress bar while copying.

    Raises:
        InvalidInput: unusable file, mapping or CRS, or rejected rows without ``skip_invalid``
            (the report is still written).
        AlreadyExists: the set exists and ``replace`` is false.
    """
    t0 = time.perf_counter()
    path = Path(path)
    check_key(aoi, year, ptype)
    _check_extent(aoi_extent)
    if not replace:
        _refuse_existing(settings, aoi, year, ptype)
    mapping = mapping or ColumnMapping()
    crop_table = None if mapping.crops is None else read_crop_table(mapping.crops)  # refused before writing
    src = _read_source(path, mapping, crs, force_crs)
    t_read = time.perf_counter()
    extent = None if aoi_extent is None else _extent_native(aoi_extent, src.native.srid)
    validation = validate_rows(src.pids, np.asarray(src.gdf.geometry.values),
                               m2_per_unit2=src.native.m2_per_unit2, extent=extent)
    rows = build_rows(validation, src.pids) + crop_rows(validation.kept, src.code, src.name, src.pids)
    overlaps = find_overlaps(validation.geoms, validation.kept, m2_per_unit2=src.native.m2_per_unit2)
    rows += overlap_rows(overlaps, src.pids)
    summary = summarize(rows, len(src.gdf)) | _context(path, src) | {"overlaps": overlaps.summary()}
    report_path = write_report(
        report_path or default_report_path(settings.var_dir, aoi, year, ptype), rows, summary)
    _refuse_rejected(path, validation, report_path, skip_invalid)
    refuse_overlaps(overlaps, settings.max_overlap_share, src.pids, report_path)
    prepared = _prepare(src, validation, summary | {"report_path": str(report_path)},
                        key=(aoi, year, ptype), source=str(path.resolve()))
    prepared.crop_table = crop_table
    t_validate = time.perf_counter()
    set_id, n_jobs = _write_set(settings, prepared, replace=replace, progress=progress)
    t_write = time.perf_counter()
    timings = {"read": t_read - t0, "validate": t_validate - t_read, "write": t_write - t_validate}
    log.info("imported %s as set %d: %s", path.name, set_id, summary)
    return ImportResult(set_id, len(src.gdf), prepared.n_parcels, validation.n_repaired,
                        validation.n_rejected, rows, report_path, t_write - t0,
                        src.native.srid, n_jobs, timings, summary["warnings"])


@dataclass
class _Source:
    """The file as read: features in the native CRS, the columns used, ids and crops as text."""

    gdf: gpd.GeoDataFrame
    cols: ResolvedColumns
    native: NativeCrs
    pids: np.ndarray
    code: np.ndarray
    name: np.ndarray
    library_warnings: dict[str, int]


def _read_source(path: Path, mapping: ColumnMapping, crs: str | None, force_crs: bool) -> _Source:
    gdf = read_parcels(path, mapping.layer)
    library_warnings = dict(gdf.attrs.get("library_warnings", {}))
    cols = resolve_columns([c for c in gdf.columns if c != "geometry"], mapping, path.name)
    gdf, native = to_native_crs(gdf, crs, path.name, force=force_crs)
    return _Source(gdf, cols, native, parcel_ids(gdf, cols.pid, path.name),
                   crop_values(gdf, cols.cropcode), crop_values(gdf, cols.cropname),
                   library_warnings)


def delete_parcel_set(settings: Settings, aoi: str, year: int, ptype: str = "") -> int:
    """Delete a parcel set with its parcels, jobs, markers and signature partition.

    Returns:
        The number of parcels the set had.

    Raises:
        ParcelSetNotFound: no such set.
    """
    with connect(settings) as conn, conn.transaction():
        q.lock_set_key(conn, aoi, year, ptype)
        row = q.find_set(conn, aoi, year, ptype)
        if row is None:
            name = f"{aoi} {year}" + (f" {ptype}" if ptype else "")
            raise ParcelSetNotFound(f"no parcel set {name}")
        q.delete_set(conn, row["id"])
    log.info("deleted parcel set %s (%d parcels)", row["id"], row["n_parcels"])
    return int(row["n_parcels"])


def _prepare(src: _Source, v: Validation, report: dict[str, Any], *, key: tuple[str, int, str],
             source: str) -> PreparedSet:
    gdf, cols, native = src.gdf, src.cols, src.native
    kept = np.flatnonzero(v.kept)
    if len(cols.pid) == 1:
        kept = kept[sort_order(gdf[cols.pid[0]].iloc[kept], src.pids[kept])]
    elif cols.pid:
        kept = kept[np.argsort(src.pids[kept].astype(str), kind="stable")]
    attr_cols = [c for c in gdf.columns if c != "geometry" and c not in cols.used]
    table = parcel_table(
        pid=src.pids[kept], cropcode=src.code[kept], cropname=src.name[kept],
        area_m2=v.area_m2[kept], attrs=attrs_json(gdf[attr_cols].iloc[kept]),
        geoms=v.geoms[kept], srid=native.srid)
    return PreparedSet(aoi=key[0], year=key[1], ptype=key[2], srid=native.srid, source=source,
                       extent_wkt=extent_wkt_4326(v.geoms[kept], native.srid), report=report,
                       table=table)


def _context(path: Path, src: _Source) -> dict[str, Any]:
    cols, native = src.cols, src.native
    warnings = [w for w in (native.warning, ROW_ID_WARNING if not cols.pid else None) if w]
    return {"file": path.name,
            "columns": {"pid": list(cols.pid) or "row number", "cropcode": cols.cropcode,
                        "cropname": cols.cropname, "hcat": list(cols.hcat)},
            "id_separator": ID_SEPARATOR if len(cols.pid) > 1 else None,
            "source_crs": native.source_crs, "srid": native.srid,
            "reprojected": native.reprojected, "warnings": warnings,
            "library_warnings": src.library_warnings}


def _refuse_rejected(path: Path, v: Validation, report_path: Path, skip_invalid: bool) -> None:
    n, bad = len(v.outcome), v.n_rejected
    if bad == 0 or (skip_invalid and bad < n):
        return
    codes = Counter(Outcome(int(o)).code for o in v.outcome[~v.kept])
    what = ", ".join(f"{k} {c}" for k, c in sorted(codes.items()))
    hint = "" if bad == n else "; fix them, or pass --skip-invalid to import the other rows"
    raise InvalidInput(f"{path.name}: {bad} of {n} rows rejected ({what}), nothing imported; "
                       f"see {report_path}{hint}")


def _refuse_existing(settings: Settings, aoi: str, year: int, ptype: str) -> None:
    with connect(settings) as conn:
        row = q.find_set(conn, aoi, year, ptype)
    if row is not None:
        raise already_exists(aoi, year, ptype, row)


def check_key(aoi: str, year: int, ptype: str) -> None:
    """Refuse a malformed set key (aoi code, year, ptype) with a message saying the rule."""
    if not _AOI.match(aoi):
        raise InvalidInput(f"aoi {aoi!r} must be 2-32 lower-case letters, digits or _, "
                           "starting with a letter (e.g. nl)")
    if not 1990 <= year <= 2100:
        raise InvalidInput(f"year {year} must be between 1990 and 2100")
    if not _PTYPE.match(ptype):
        raise InvalidInput(f"ptype {ptype!r} must be up to 16 lower-case letters, digits or _")


def _check_extent(extent: Extent | None) -> None:
    if extent is None:
        return
    minx, miny, maxx, maxy = extent
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InvalidInput(f"AOI extent {extent} must be minx,miny,maxx,maxy in WGS84 degrees "
                           "with min < max")


def _extent_native(extent: Extent, srid: int) -> shapely.Geometry:
    """The WGS84 extent box as a polygon in the set's CRS (edges densified)."""
    box = shapely.segmentize(shapely.box(*extent), max_segment_length=0.01)
    transformer = Transformer.from_crs(4326, srid, always_xy=True)
    return shapely.transform(box, lambda xy: np.column_stack(transformer.transform(
        xy[:, 0], xy[:, 1])))
