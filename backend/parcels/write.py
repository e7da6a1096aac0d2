"""Write a validated parcel set in one transaction.

The transaction inserts the set row, COPYs the parcels, creates the signature partition and
the extraction jobs; a replaced set is deleted in the same transaction.
"""

from __future__ import annotations

import getpass
import io
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
from pyproj import Transformer

from backend.db import connect
from backend.db import queries_parcels as q
from backend.errors import AlreadyExists
from backend.progress import progress_bar
from backend.settings import Settings

CropRows = list[tuple[str, str | None, str | None, str | None]]  # code, name, group, HCAT code

log = logging.getLogger(__name__)

COPY_BATCH_ROWS = 50_000


@dataclass
class PreparedSet:
    """Everything to insert, computed before the transaction opens (to keep it short)."""

    aoi: str
    year: int
    ptype: str
    srid: int
    source: str
    extent_wkt: str  # EPSG:4326 polygon
    report: dict[str, Any]
    table: pa.Table  # PARCEL_COPY_COLUMNS without set_id, in id order
    crop_table: CropRows | None = None  # the mapping's crop table, replacing the AOI-year's

    @property
    def n_parcels(self) -> int:
        """Number of parcels to insert."""
        return self.table.num_rows


def parcel_table(*, pid: np.ndarray, cropcode: np.ndarray, cropname: np.ndarray,
                 area_m2: np.ndarray, attrs: np.ndarray, geoms: np.ndarray, srid: int
                 ) -> pa.Table:
    """Arrow table of the parcel rows (already in id order); ids are 1..n, geometry hex EWKB."""
    return pa.table({
        "id": pa.array(np.arange(1, len(pid) + 1, dtype=np.int32)),
        "pid": pa.array(pid, type=pa.string()),
        "cropcode": pa.array(cropcode, type=pa.string()),
        "cropname": pa.array(cropname, type=pa.string()),
        "area_m2": pa.array(area_m2, type=pa.float64()),
        "attrs": pa.array(attrs, type=pa.string()),
        "geom": pa.array(multipolygon_ewkb_hex(geoms, srid), type=pa.string()),
    })


_MULTI_EWKB = 6 | 0x20000000  # MultiPolygon type with the EWKB SRID flag


def multipolygon_ewkb_hex(geoms: np.ndarray, srid: int) -> list[str]:
    """Hex EWKB MultiPolygons with ``srid`` of polygons and multipolygons (2-D, little endian).

    A Polygon's WKB becomes the single part of a MultiPolygon by a fixed header, so no
    geometry is rebuilt: the same bytes as ``to_wkb(set_srid(as_multipolygons(g)))``, faster.
    """
    wkb = shapely.to_wkb(geoms, byte_order=1, include_srid=False, output_dimension=2)
    single = shapely.get_type_id(geoms) == 3
    header = struct.pack("<BIi", 1, _MULTI_EWKB, srid)
    one_part = header + struct.pack("<I", 1)
    return [(one_part + w if p else header + w[5:]).hex()
            for w, p in zip(wkb.tolist(), single.tolist(), strict=True)]


def extent_wkt_4326(geoms: np.ndarray, srid: int) -> str:
    """Bounding box of the geometries as an EPSG:4326 polygon (edges densified)."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    to_wgs84 = Transformer.from_crs(srid, 4326, always_xy=True)
    box = to_wgs84.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
    return str(shapely.box(*box).wkt)


def write_set(settings: Settings, prepared: PreparedSet, *, replace: bool,
              progress: bool = False) -> tuple[int, int]:
    """Insert the set (replacing the old one if asked) in one transaction.

    Returns:
        The new set id and the number of extraction jobs created.

    Raises:
        AlreadyExists: the set exists and ``replace`` is false.
    """
    p = prepared
    with connect(settings) as conn, conn.transaction():
        q.lock_set_key(conn, p.aoi, p.year, p.ptype)
        old = q.find_set(conn, p.aoi, p.year, p.ptype)
        if old is not None:
            if not replace:
                raise already_exists(p.aoi, p.year, p.ptype, old)
            log.info("replacing parcel set %s (%d parcels)", old["id"], old["n_parcels"])
            q.delete_set(conn, old["id"])
        set_id = q.insert_set(conn, aoi=p.aoi, year=p.year, ptype=p.ptype, srid=p.srid,
                              n_parcels=p.n_parcels, extent_wkt=p.extent_wkt, source=p.source,
                              report=p.report, imported_by=_os_user())
        q.copy_parcels(conn, _csv_chunks(p.table, set_id, progress))
        q.create_signature_partition(conn, set_id)
        n_jobs = q.create_extraction_jobs(conn, set_id)
        if p.crop_table is not None:
            q.replace_crop_table(conn, p.aoi, p.year, p.crop_table)
    log.info("parcel set %d: %d parcels, %d extraction jobs", set_id, p.n_parcels, n_jobs)
    return set_id, n_jobs


def already_exists(aoi: str, year: int, ptype: str, row: dict[str, Any]) -> AlreadyExists:
    """The error for an existing set, telling how to replace it."""
    name = f"{aoi} {year}" + (f" {ptype}" if ptype else "")
    return AlreadyExists(f"parcel set {name} exists ({row['n_parcels']} parcels, imported "
                         f"{row['imported_at']:%Y-%m-%d %H:%M}); pass --replace to replace it")


def _csv_chunks(table: pa.Table, set_id: int, progress: bool | Any) -> Iterator[bytes]:
    full = table.add_column(0, "set_id", pa.array(np.full(table.num_rows, set_id, np.int32)))
    options = pacsv.WriteOptions(include_header=False)
    with progress_bar(progress, total=full.num_rows, unit="parcel", desc="copy") as bar:
        for batch in full.to_batches(max_chunksize=COPY_BATCH_ROWS):
            buf = io.BytesIO()
            pacsv.write_csv(batch, buf, options)
            yield buf.getvalue()
            if bar is not None:
                bar.update(batch.num_rows)


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return None
