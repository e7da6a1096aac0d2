"""Parcel time series (the read side of the signatures): JRC band rows as JSON columns, CSV or GeoPackage.

A signature row holds one image's stats for all its bands (``stats[band][8]`` in the order
count, mean, std, min, max, p25, p50, p75; packed, see ``backend.db.signatures``); here each
becomes one row per requested band, with the JRC band names (``B04``, ``VVb``, ``VHc``) and,
for S2, the SCL histogram as ``{"4": 120}``. NaN statistics (no valid pixel) become null.
:data:`TS_BANDS` names the bands of each time-series type; :class:`DateRange` is the
observation time range of a request.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from backend.catalogue.filters import check_date_span
from backend.db import queries_parcel_reads as qpr
from backend.db import queries_series as q
from backend.db.signatures import HIST_DTYPE, N_SCL_CLASSES, N_STATS, unpack_stats
from backend.errors import InvalidInput, ParcelNotFound
from backend.parcels.sets import ParcelSetKey, resolve_set, set_not_found

# JRC band names of each time-series type -> our stored asset names (images.bands).
# Every S2 L2A band and S1 polarisation the catalogue may hold (an image has a subset: images.bands).
TS_BANDS: dict[str, dict[str, str]] = {
    "s2": {b: b for b in ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11",
                          "B12")},
    "bs": {"VVb": "VV", "VHb": "VH", "HHb": "HH", "HVb": "HV"},
    "c6": {"VVc": "COH_VV", "VHc": "COH_VH"},
}
STORED_TO_JRC: dict[str, dict[str, str]] = {k: {v: n for n, v in m.items()} for k, m in TS_BANDS.items()}
_SHORT_S2 = re.compile(r"^B(\d)$")



def stored_band(tstype: str, band: str) -> str:
    """Map a JRC band name (``B4``, ``B04``, ``VVb``, ``VVc``; our names too) to the stored name.

    Raises:
        InvalidInput: the band does not exist for this time-series type.
    """
    bands = TS_BANDS[tstype]
    name = _SHORT_S2.sub(r"B0\1", band.strip()) if tstype == "s2" else band.strip()
    if name in bands:
        return bands[name]
    if name in bands.values():
        return name
    raise InvalidInput(f"band {band[:20]!r} is not a {tstype} band; allowed: {', '.join(bands)}")


@dataclass(frozen=True)
class DateRange:
    """A half-open UTC datetime range [start, end) built from inclusive dates."""

    start: datetime
    end: datetime

    @classmethod
    def build(cls, start: date | None, end: date | None, *, year: int | None = None,
              max_days: int | None = None) -> DateRange:
        """Validate inclusive dates.

        No dates at all means unbounded (no span check); one missing end defaults to the
        bound of ``year`` (or of all time).

        Raises:
            InvalidInput: start after end.
            LimitExceeded: the span exceeds ``max_days`` (setting ``api_max_date_span_days``).
        """
        if start is None and end is None:
            return cls(datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
        lo = start or (date(year, 1, 1) if year else date(1970, 1, 1))
        hi = end or (date(year, 12, 31) if year else date(2199, 12, 31))
        check_date_span(datetime.combine(lo, time.min, UTC), datetime.combine(hi, time.max, UTC), max_days)
        return cls(datetime.combine(lo, time(), UTC), datetime.combine(hi + timedelta(days=1), time(), UTC))


TS_COLUMNS = ("date_part", "band", "count", "mean", "std", "min", "p25", "p50", "p75", "max")
# position in the stored stats vector of each output statistic after ``count`` (mean ... max)
_STAT_INDEX = (1, 2, 3, 5, 6, 7, 4)


_NO_HIST = bytes(2 * N_SCL_CLASSES)  # an S1 row has no SCL histogram: decoded as all-zero counts, i.e. {}
_HIST_KEYS = [str(k) for k in range(N_SCL_CLASSES)]


@functools.lru_cache(maxsize=1024)
def _selection(stored_bands: tuple[str, ...], tstype: str, band: str | None) -> tuple[np.ndarray, list[str]]:
    """Positions (in an image's stored band order) and JRC names of the bands to output."""
    names = STORED_TO_JRC[tstype]
    picked = [k for k, stored in enumerate(stored_bands) if stored in names and band in (None, stored)]
    return np.array(picked, np.intp), [names[stored_bands[k]] for k in picked]


def _hists(rows: list[tuple]) -> list[dict[str, int]]:
    """The SCL histogram of each row as ``{"class": count}`` without the zero counts."""
    packed = b"".join(r[3] or _NO_HIST for r in rows)
    counts = np.frombuffer(packed, HIST_DTYPE).reshape(len(rows), N_SCL_CLASSES)
    out: list[dict[str, int]] = [{} for _ in rows]
    i, k = np.nonzero(counts)
    for row, cls, n in zip(i.tolist(), k.tolist(), counts[i, k].tolist(), strict=True):
        out[row][_HIST_KEYS[cls]] = n
    return out


# Columns added after the JRC ones on request (``provenance=True``), one value per band row.
PROVENANCE_COLUMNS = ("image_id", "provider", "collection", "platform", "orbit", "relative_orbit", "mask",
                      "start_date_part", "end_date_part")


def _provenance(rows: list[tuple], kept: np.ndarray) -> dict[str, list[Any]]:
    """Which image (id, provider, collection, platform, orbit, mask, interval) each band row is from."""
    index = np.repeat(np.arange(len(rows)), kept).tolist()
    return {name: [rows[i][4 + k] for i in index] for k, name in enumerate(PROVENANCE_COLUMNS)}


def unpack(rows: list[tuple], tstype: str, band: str | None, provenance: bool = False) -> dict[str, Any]:
    """Unpack per-image signature rows into column-oriented band rows, date then band order.

    Each row is (date_part, stored band names, packed stats, packed hist). The stats of all
    rows are decoded with one ``np.frombuffer`` and the kept band rows picked by index; which
    bands an image keeps is computed once per distinct band list. ``date_part`` is a float64
    array, ``count`` an int64 array and the statistics float32 arrays with NaN where a band row
    has no valid pixel (``ColumnsResponse`` writes NaN as null and float32 in its shortest
    form); :func:`plain` turns them into lists. With ``provenance`` the
    :data:`PROVENANCE_COLUMNS` follow (``mask`` is ``SCL`` or ``none``: an S2 image without a
    cloud mask has unmasked statistics and an empty ``hist``).
    """
    picks = [_selection(tuple(r[1]), tstype, band) for r in rows]
    n = len(rows)
    if n and all(p is picks[0] for p in picks):  # the usual case: every image has the same bands
        sel, names = picks[0]
        kept = np.full(n, len(sel), np.intp)
        keep = (np.arange(n)[:, None] * len(rows[0][1]) + sel).ravel()
        bands = names * n
    else:
        widths = np.fromiter((len(r[1]) for r in rows), np.intp, n)
        kept = np.fromiter((len(p[0]) for p in picks), np.intp, n)
        starts = (np.cumsum(widths) - widths).tolist()
        keep = np.concatenate([start + p[0] for start, p in zip(starts, picks, strict=True)] or [kept])
        bands = [name for p in picks for name in p[1]]
    table = unpack_stats(b"".join(r[2] for r in rows)).reshape(-1, N_STATS)[keep]
    out: dict[str, Any] = {
        "date_part": np.repeat(np.fromiter((r[0] for r in rows), np.float64, n), kept),
        "band": bands,
        "count": np.nan_to_num(table[:, 0]).astype(np.int64)}
    for name, i in zip(TS_COLUMNS[3:], _STAT_INDEX, strict=True):
        out[name] = np.ascontiguousarray(table[:, i])
    if tstype == "s2":
        hists = _hists(rows)
        out["hist"] = [hists[i] for i in np.repeat(np.arange(n), kept).tolist()]
    if provenance:
        out.update(_provenance(rows, kept))
    return out


def plain(data: dict[str, Any]) -> dict[str, list[Any]]:
    """The columns of :func:`unpack` as lists of Python values (NaN -> None)."""
    out: dict[str, list[Any]] = {}
    for name, col in data.items():
        if isinstance(col, np.ndarray):
            col = [None if v != v else v for v in col.tolist()]
        out[name] = col
    return out


def series(conn: q.Conn, key: ParcelSetKey, pid: str, tstype: str, band: str | None,
           dates: DateRange, *, filters: dict[str, str | None] | None = None,
           provenance: bool = False) -> dict[str, list[Any]]:
    """The time series of one parcel (empty columns when the parcel or its signatures are missing).

    Args:
        conn: database connection.
        key: parcel set.
        pid: agency parcel id.
        tstype: ``s2``, ``bs`` or ``c6``.
        band: stored band name to keep, or None for all.
        dates: observation time range.
        filters: keep only images of this ``orbit``, ``collection`` or ``provider``.
        provenance: add the :data:`PROVENANCE_COLUMNS`.
    """
    pset = resolve_set(conn, key)
    rows = q.series(conn, pset["id"], pid, tstype, dates.start, dates.end, filters)
    return plain(unpack(rows, tstype, band, provenance))


async def series_async(pool: q.APool, key: ParcelSetKey, pid: str, tstype: str, band: str | None,
                       dates: DateRange, *, filters: dict[str, str | None] | None = None,
                       provenance: bool = False) -> dict[str, Any]:
    """:func:`series` on the async pool, with one SQL statement (set and signatures together).

    The columns are as :func:`unpack` returns them (numpy arrays, for ``ColumnsResponse``).

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    rows = await q.set_series(pool, key.aoi, key.year, key.ptype, pid, tstype, dates.start, dates.end,
                              filters)
    if rows is None:
        raise set_not_found(key)
    return unpack(rows, tstype, band, provenance)


def to_csv(data: dict[str, list[Any]]) -> str:
    """CSV text of a column-oriented series (ISO date added, hist as JSON)."""
    buf = io.StringIO()
    names = list(data)
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["date", *names])
    for i in range(len(data["date_part"])):
        row = [data[n][i] for n in names]
        row = [json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row]
        writer.writerow([datetime.fromtimestamp(data["date_part"][i], UTC).isoformat(), *row])
    return buf.getvalue()


def to_geopackage(conn: q.Conn, key: ParcelSetKey, pid: str, tstype: str, band: str | None,
                  dates: DateRange) -> bytes:
    """A GeoPackage with layer ``parcel`` (WGS84 geometry) and table ``timeseries``.

    Raises:
        ParcelNotFound: no parcel with this id in the set.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    pset = resolve_set(conn, key)
    parcel = qpr.parcel_row(conn, pset["id"], pid)
    if parcel is None:
        raise ParcelNotFound(f"no parcel {pid!r} in {key.aoi} {key.year}")
    data = plain(unpack(q.series(conn, pset["id"], pid, tstype, dates.start, dates.end), tstype, band))
    if "hist" in data:
        data["hist"] = [json.dumps(h, sort_keys=True) for h in data["hist"]]
    table = pd.DataFrame(data)
    table.insert(0, "pid", pid)
    table.insert(1, "date", pd.to_datetime(table["date_part"], unit="s", utc=True).astype(str))
    geo = gpd.GeoDataFrame({"pid": [pid], "cropcode": [parcel["cropcode"]], "cropname": [parcel["cropname"]],
                            "area_m2": [parcel["area_m2"]]},
                           geometry=[shapely.from_geojson(parcel["geojson"])], crs="EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="cbm-gpkg-") as tmp:
        path = Path(tmp) / "series.gpkg"
        pyogrio.write_dataframe(geo, path, layer="parcel", driver="GPKG")
        pyogrio.write_dataframe(table, path, layer="timeseries", driver="GPKG", append=True)
        return path.read_bytes()
