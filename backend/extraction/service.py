"""``cbm extract``: claim jobs, extract, write rows and finish the job in one transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg.rows import DictRow
from pyproj import Transformer

from backend.catalogue.assets import band_hrefs, band_indexes
from backend.db import connect
from backend.db import queries_extraction as q
from backend.db.signatures import encode_signatures
from backend.errors import CbmError, ImageReadError, InvalidInput
from backend.extraction import engine, jobs, radiometry
from backend.extraction.compute import GridCache, ImageResult, compute_image
from backend.extraction.reader import open_groups
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.progress import ProgressLike, progress_bar
from backend.settings import Settings
from backend.storage import raster_env

log = logging.getLogger(__name__)


class LeaseLost(CbmError):
    """Another worker took the job over (this worker's lease had expired)."""


@dataclass
class ExtractReport:
    """What one ``extract`` call did."""

    done: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0
    rows: int = 0
    parcels: int = 0
    seconds: float = 0.0
    errors: list[tuple[int, str]] = field(default_factory=list)


class _Worker:
    """Per-process state: parcels per (set, CRS) and label rasters per grid, kept across jobs."""

    def __init__(self, settings: Settings, conn: psycopg.Connection[DictRow]) -> None:
        self.settings = settings
        self.conn = conn
        self.parcels: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, shapely.STRtree]] = {}
        self.grids = GridCache()

    def parcels_in(self, set_id: int, epsg: int) -> tuple[np.ndarray, np.ndarray, shapely.STRtree]:
        """Parcel ids and geometries of a set in a CRS, reprojected once per (set, CRS)."""
        key = (set_id, epsg)
        if key not in self.parcels:
            rows = q.parcels_in_crs(self.conn, set_id, epsg)
            ids = np.array([r["id"] for r in rows], dtype=np.int64)
            geoms = shapely.from_wkb([r["wkb"] for r in rows])
            self.parcels = {key: (ids, geoms, shapely.STRtree(geoms))}  # keep one CRS at a time
        return self.parcels[key]

    def run(self, job: jobs.Job) -> tuple[int, int]:
        """Extract one job and commit its rows. Returns (parcels, rows)."""
        image = q.image_for_job(self.conn, job.image_id)
        if image is None:
            raise InvalidInput(f"image {job.image_id} of job {job.id} no longer exists")
        result = self._compute(job, image)
        self._write(job, result)
        return len(result.parcel_ids), len(result.parcel_ids) * len(image["bands"])

    def _compute(self, job: jobs.Job, image: dict[str, Any]) -> ImageResult:
        groups = open_groups(band_hrefs(image), band_indexes(image))
        epsg = groups[0].grid.crs.to_epsg() if groups[0].grid.crs is not None else None
        if epsg is None:
            raise InvalidInput(f"image {image['item_id']}: its CRS has no EPSG code")
        ids, geoms, tree = self.parcels_in(job.set_id, epsg)
        to_img = Transformer.from_crs(4326, epsg, always_xy=True)
        footprint = shapely.transform(shapely.from_wkb(image["footprint"]),
                                      lambda xy: np.column_stack(to_img.transform(xy[:, 0], xy[:, 1])))
        sel = np.sort(tree.query(footprint, predicate="intersects"))
        result = compute_image(
            image["kind"], list(image["bands"]), groups, ids[sel], geoms[sel],
            scl_classes=self.settings.scl_mask_classes,
            negative_buffer_m=self.settings.negative_buffer_m,
            cache=self.grids, cache_key=(job.set_id, epsg, hash(ids[sel].tobytes())),
            remote_read_workers=self.settings.remote_read_workers,
        )
        radiometry.apply(result.stats, radiometry.transforms_of(image, image["bands"]))  # stored unit
        return result

    def _write(self, job: jobs.Job, res: ImageResult) -> None:
        payload = encode_signatures(job.set_id, job.image_id, res.parcel_ids, res.n_total,
                                    res.valid_frac, res.stats, res.hist)
        note = None if len(res.parcel_ids) else "no parcel of the set lies in this image"
        with self.conn.transaction():
            if not jobs.lock_owned(self.conn, job):
                raise LeaseLost(f"job {job.id}: lease expired and another worker took it over")
            q.delete_job_rows(self.conn, job.set_id, job.image_id)
            q.copy_signatures(self.conn, payload)
            q.finish_job(self.conn, job_id=job.id, note=note, n_parcels=len(res.parcel_ids),
                         n_rows=len(res.parcel_ids))


def extract(
    settings: Settings, *, aoi: str, year: int, ptype: str = "", limit: int | None = None,
    job_ids: list[int] | None = None, force: bool = False, worker: str | None = None,
    progress: bool | Any = False, on_error: Callable[[int, str], None] | None = None,
) -> ExtractReport:
    """Process claimable extraction jobs of the parcel set (aoi, year, ptype) until none is left.

    Safe to run in any number of processes at once; a crash loses nothing (rows and the job's
    'done' status commit together) and a retry duplicates nothing. The lease of the job in hand
    is renewed while this process lives, so only a dead worker's job is taken over. ``limit``
    stops after that many jobs; ``ptype`` is the set's variant (``""``: the main set).

    Raises:
        ParcelSetNotFound: no parcel set (aoi, year, ptype).
    """
    report, t0 = ExtractReport(), time.perf_counter()
    engine.warm_up()  # compile or load the kernels once per call (process), not in a job
    wid = worker or jobs.worker_id()
    with connect(settings) as conn, raster_env(settings), jobs.Heartbeat(settings) as heartbeat:
        conn.autocommit = True
        resolve_set(conn, ParcelSetKey(aoi, year, ptype))
        if force:
            jobs.reset_for_force(conn, aoi, year, ptype)
        w = _Worker(settings, conn)
        total = _open_jobs(conn, aoi, year, ptype, limit) if progress else None
        with progress_bar(progress, total=total, desc=f"extract {aoi} {year}", unit="image") as bar:
            while limit is None or report.done + report.failed + report.retried < limit:
                job = jobs.claim(conn, settings, wid, aoi=aoi, year=year, ptype=ptype, job_ids=job_ids)
                if job is None:
                    break
                with heartbeat.holding(job):  # renews the lease however long the job runs
                    _run_one(w, job, report, on_error)
                _tick(bar, report, t0)
    report.seconds = time.perf_counter() - t0
    return report


def _run_one(w: _Worker, job: jobs.Job, report: ExtractReport,
             on_error: Callable[[int, str], None] | None) -> None:
    try:
        parcels, rows = w.run(job)
    except LeaseLost as exc:
        log.warning("%s", exc)
        report.lost += 1
        return
    except (CbmError, OSError, ValueError, RuntimeError) as exc:
        message = f"{type(exc).__name__}: {exc}"
        permanent = isinstance(exc, InvalidInput) and not isinstance(exc, ImageReadError)
        status = jobs.fail(w.conn, w.settings, job, message, permanent=permanent)
        log.warning("job %d (image %d) %s: %s", job.id, job.image_id, status, message)
        report.errors.append((job.id, message))
        if status == "failed":
            report.failed += 1
        else:
            report.retried += 1
        if on_error is not None:
            on_error(job.id, message)
        return
    report.done += 1
    report.parcels += parcels
    report.rows += rows


def _open_jobs(conn: psycopg.Connection[DictRow], aoi: str, year: int, ptype: str,
               limit: int | None) -> int:
    c = jobs.counts(conn, aoi, year, ptype)
    total = c.get("pending", 0) + c.get("running", 0)
    return min(total, limit) if limit else total


def _tick(bar: ProgressLike | None, report: ExtractReport, t0: float) -> None:
    if bar is None:
        return
    bar.update(1)
    if hasattr(bar, "set_postfix"):
        bar.set_postfix(parcels_per_s=f"{report.parcels / (time.perf_counter() - t0):.0f}")
