"""Exports of decisions with their latest review: CSV, GeoPackage and a printable HTML evidence sheet.

Every row is one decision (parcel x condition) of the latest marker run with the automatic
colour and reason, the latest verdict (who, when, override colour, reason, comment) and the
``final_colour`` (the override's colour, else the automatic one). File names carry aoi, year
and, for one parcel, the pid.
"""

from __future__ import annotations

import csv
import html
import io
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.db import queries_markers as qm
from backend.db import queries_parcel_reads as qpr
from backend.db import queries_reviews as q
from backend.demo.pipeline import DEMO_AOI
from backend.errors import ParcelNotFound
from backend.parcels.sets import ParcelSetKey
from backend.photos.sheet import photos_section
from backend.reviews import service
from backend.settings import Settings

COLUMNS = ("pid", "cropcode", "cropname", "area_m2", "run_id", "condition", "decision_colour",
           "decision_reason", "rule_version", "decided_at", "verdict", "override_colour", "review_reason",
           "review_comment", "reviewer", "reviewed_at", "final_colour")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def file_name(key: ParcelSetKey, pid: str | None, what: str, ext: str) -> str:
    """``<aoi>_<year>[_<pid>]_<what>.<ext>`` with the pid reduced to file-safe characters."""
    parts = [key.aoi, str(key.year)] + ([_SAFE.sub("-", pid)[:64]] if pid else []) + [what]
    return "_".join(parts) + "." + ext


def _rows(conn: q.Conn, key: ParcelSetKey, pid: str | None, *, geometry: bool) -> list[dict[str, Any]]:
    set_id, run = service.run_of(conn, key)
    if pid is not None:
        service.parcel_id_of(conn, set_id, key, pid)
    return q.export_rows(conn, run, set_id, pid, geometry=geometry)


def _text(v: Any) -> Any:
    return v.isoformat() if isinstance(v, datetime) else ("" if v is None else v)


def to_csv(conn: q.Conn, key: ParcelSetKey, pid: str | None) -> str:
    """CSV of the decisions (one parcel or the whole set) with their latest review."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in _rows(conn, key, pid, geometry=False):
        w.writerow([_text(r[c]) for c in COLUMNS])
    return buf.getvalue()


def to_geopackage(conn: q.Conn, key: ParcelSetKey, pid: str | None) -> bytes:
    """GeoPackage layer ``decisions``: one WGS84 polygon row per decision with its latest review."""
    import geopandas as gpd
    import shapely

    rows = _rows(conn, key, pid, geometry=True)
    frame = gpd.GeoDataFrame({c: [_text(r[c]) for r in rows] for c in COLUMNS},
                             geometry=[shapely.from_wkb(bytes(r["geom"])) for r in rows], crs="EPSG:4326")
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="cbm-gpkg-") as tmp:
        path = Path(tmp) / "decisions.gpkg"
        pyogrio.write_dataframe(frame, path, layer="decisions", driver="GPKG")
        return path.read_bytes()


_CSS = ("body{font:14px sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;width:100%}"
        "td,th{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top}"
        ".red{background:#f4c7c3}.yellow{background:#fce8b2}.green{background:#b7e1cd}"
        ".synthetic{background:#fce8b2;padding:4px 8px}"
        "@media print{button{display:none}}")


def _outline_svg(geojson: str) -> str:
    """The parcel outline as inline SVG, longitudes scaled by cos(latitude) so the shape is true."""
    import math

    import shapely

    g = shapely.from_geojson(geojson)
    k = math.cos(math.radians(g.centroid.y))
    g = shapely.transform(g, lambda xy: xy * [k, -1.0])  # SVG's y runs down
    x0, y0, x1, y1 = g.bounds
    pad = max(x1 - x0, y1 - y0) * 0.1
    path = g.svg(scale_factor=0.0).replace('stroke-width="0.0"',
                                           'stroke-width="2" vector-effect="non-scaling-stroke"')
    box = f"{x0 - pad} {y0 - pad} {x1 - x0 + 2 * pad} {y1 - y0 + 2 * pad}"
    return f'<svg class="outline" width="240" height="240" viewBox="{box}">{path}</svg>'


def _table(rows: list[dict[str, Any]], cols: tuple[str, ...], colour_col: str | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        f'<tr class="{html.escape(str(r.get(colour_col) or "")) if colour_col else ""}">'
        + "".join(f"<td>{html.escape(str(_text(r.get(c))))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


_DECISION_COLS = ("condition", "decision_colour", "decision_reason", "verdict", "override_colour",
                  "review_reason", "reviewer", "reviewed_at", "final_colour")
_HISTORY_COLS = ("reviewed_at", "reviewer", "condition", "verdict", "colour", "reason", "comment",
                 "photo_ids")
_MARKER_COLS = ("marker", "start_date", "end_date", "value", "confidence")


def _synthetic_note(key: ParcelSetKey) -> str:
    """The dashboards' synthetic-data warning, on the sheets of the demo area (empty otherwise)."""
    if key.aoi != DEMO_AOI:
        return ""
    return ("<p class='synthetic'><b>SYNTHETIC DEMO DATA</b>: parcels, images and decisions of this area "
            "are generated by the CbM demo, not real observations.</p>")


def evidence_sheet(conn: q.Conn, key: ParcelSetKey, pid: str, settings: Settings) -> str:
    """A printable HTML case file of one parcel: outline, decisions, reviews history, markers, photos."""
    set_id, run = service.run_of(conn, key)
    parcel = qpr.parcel_row(conn, set_id, pid)
    if parcel is None:
        raise ParcelNotFound(f"no parcel {pid!r} in {key.aoi} {key.year}")
    decisions = q.export_rows(conn, run, set_id, pid, geometry=False)
    hist = q.parcel_history(conn, run, set_id, int(parcel["id"]))
    markers = qm.markers(conn, set_id, int(parcel["id"]))
    title = html.escape(f"Parcel {pid} — {key.aoi} {key.year}")
    crop = html.escape(f"{parcel['cropname'] or ''} ({parcel['cropcode'] or ''})")
    return "".join([
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>",
        f"<style>{_CSS}</style></head><body><button onclick='window.print()'>Print</button>",
        f"<h1>{title}</h1>", _synthetic_note(key),
        f"<p>Declared crop {crop}, {parcel['area_m2'] / 10_000:.2f} ha; "
        f"marker run {run}.</p>",
        _outline_svg(parcel["geojson"]),
        "<h2>Decisions</h2>", _table(decisions, _DECISION_COLS, "final_colour"),
        "<h2>Review history</h2>", _table(hist, _HISTORY_COLS) if hist else "<p>Not reviewed yet.</p>",
        "<h2>Markers</h2>", _table(markers, _MARKER_COLS) if markers else "<p>No marker found.</p>",
        photos_section(conn, settings, set_id, int(parcel["id"]), hist),
        f"<p><small>Generated {datetime.now().isoformat(timespec='seconds')}.</small></p></body></html>"])
