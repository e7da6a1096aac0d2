"""Parcel time series: signature rows unpacked into JRC band rows, as JSON columns, CSV or GeoPackage.

A signature row holds one image's stats for all its bands (``stats[band][8]`` in the order
count, mean, std, min, max, p25, p50, p75); here each becomes one row per requested band, with
the JRC band names (``B04``, ``VVb``, ``VHc``) and, for S2, the SCL histogram as ``{"4": 120}``.
NaN statistics (no valid pixel) become null.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from backend.api.params import STORED_TO_JRC, DateRange, SetKey
from backend.api.services.query import resolve_set
from backend.db import queries_api as q
from backend.errors import ParcelNotFound

TS_COLUMNS = ("date_part", "band", "count", "mean", "std", "min", "p25", "p50", "p75", "max")
# position of each output statistic in the stored stats vector
_STAT_INDEX = (("mean", 1), ("std", 2), ("min", 3), ("p25", 5), ("p50", 6), ("p75", 7), ("max", 4))


def _num(v: float) -> float | None:
    return None if v != v else v  # NaN -> null


def _hist(hist: list[int] | None) -> dict[str, int]:
    return {str(k): int(n) for k, n in enumerate(hist or ()) if n}


def unpack(rows: list[tuple], tstype: str, band: str | None) -> dict[str, list[Any]]:
    """Unpack per-image signature rows into column-oriented band rows, date then band order."""
    names = STORED_TO_JRC[tstype]
    out: dict[str, list[Any]] = {c: [] for c in TS_COLUMNS}
    hist_col: list[dict[str, int]] = []
    for date_part, bands, stats, hist in rows:
        h = _hist(hist) if tstype == "s2" else None
        for k, stored in enumerate(bands):
            if (band is not None and stored != band) or stored not in names:
                continue
            s = stats[k]
            out["date_part"].append(date_part)
            out["band"].append(names[stored])
            out["count"].append(int(s[0]) if s[0] == s[0] else 0)
            for col, i in _STAT_INDEX:
                out[col].append(_num(s[i]))
            if h is not None:
                hist_col.append(h)
    if tstype == "s2":
        out["hist"] = hist_col
    return out


def series(conn: q.Conn, key: SetKey, pid: str, tstype: str, band: str | None,
           dates: DateRange) -> dict[str, list[Any]]:
    """The time series of one parcel (empty columns when the parcel or its signatures are missing).

    Args:
        conn: database connection.
        key: parcel set.
        pid: agency parcel id.
        tstype: ``s2``, ``bs`` or ``c6``.
        band: stored band name to keep, or None for all.
        dates: observation time range.
    """
    pset = resolve_set(conn, key)
    rows = q.series(conn, pset["id"], pid, tstype, dates.start, dates.end)
    return unpack(rows, tstype, band)


def to_csv(data: dict[str, list[Any]]) -> str:
    """CSV text of a column-oriented series (ISO date added, hist as JSON)."""
    buf = io.StringIO()
    names = list(data)
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["date", *names])
    from datetime import UTC, datetime

    for i in range(len(data["date_part"])):
        row = [data[n][i] for n in names]
        row = [json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row]
        writer.writerow([datetime.fromtimestamp(data["date_part"][i], UTC).isoformat(), *row])
    return buf.getvalue()


def to_geopackage(conn: q.Conn, key: SetKey, pid: str, tstype: str, band: str | None,
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
    parcel = q.parcel_row(conn, pset["id"], pid)
    if parcel is None:
        raise ParcelNotFound(f"no parcel {pid!r} in {key.aoi} {key.year}")
    data = unpack(q.series(conn, pset["id"], pid, tstype, dates.start, dates.end), tstype, band)
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
