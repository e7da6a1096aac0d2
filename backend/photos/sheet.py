"""The photos section of a parcel's printable evidence sheet (HTML, also fit for a PDF maker).

Each photo of the parcel as a thumbnail (the EXIF-free JPEG of the store, embedded as a data
URL so the sheet is one self-contained file), when and where it was taken, its bearing, the
stored result of every check with its detail, and the verdicts that cite it.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from backend.db import queries_photos as q
from backend.errors import NotFound
from backend.photos.store import photo_store
from backend.settings import Settings

MAX_PHOTOS = 100


def _thumb(store: Any, key: str, alt: str) -> str:
    try:
        data = store.get(key)
    except NotFound:
        return '<p class="missing">thumbnail missing from the photo store</p>'
    src = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    return f'<img class="photo" src="{src}" alt="{html.escape(alt)}" style="max-width:240px">'


def _facts(p: dict[str, Any]) -> str:
    taken = p["taken_local"].isoformat(sep=" ", timespec="minutes") if p["taken_local"] else "time unknown"
    where = ("no GPS position" if p["lon"] is None else f"{p['lat']:.6f}, {p['lon']:.6f}"
             + (f" (±{p['accuracy_m']:g} m)" if p["accuracy_m"] is not None else ""))
    rel = "inside the parcel" if p["inside"] else (
        f"{p['distance_m']:.1f} m outside the parcel" if p["distance_m"] is not None else "")
    bearing = (f"bearing {p['bearing']:.0f}°{p['bearing_ref'] or ''}" if p["bearing"] is not None
               else "no bearing")
    return html.escape(" · ".join(x for x in (taken + (p["utc_offset"] or ""), where, rel, bearing) if x))


def _checks(p: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr class="check-{html.escape(str(c["status"]))}"><td>{html.escape(str(c["check"]))}</td>'
        f"<td>{html.escape(str(c['status']))}</td><td>{html.escape(str(c.get('detail', '')))}</td></tr>"
        for c in p["checks"])
    return f"<table><tr><th>check</th><th>result</th><th>detail</th></tr>{rows}</table>"


def photos_section(conn: q.Conn, settings: Settings, set_id: int, parcel_id: int,
                   history: list[dict[str, Any]]) -> str:
    """``<h2>Photos</h2>`` and one block per photo of the parcel (``history``: its verdicts)."""
    photos = q.photos(conn, set_id, parcel_id, 0, MAX_PHOTOS)
    if not photos:
        return "<h2>Photos</h2><p>No photo of this parcel.</p>"
    store = photo_store(settings)
    blocks = []
    for p in photos:
        cited = [r for r in history if p["id"] in (r.get("photo_ids") or [])]
        cites = "; ".join(f"{r['verdict']} on {r['condition']} by {r['reviewer']}, "
                          f"{r['reviewed_at']:%Y-%m-%d %H:%M}" for r in cited)
        cited_by = f"Cited by: {html.escape(cites)}" if cites else "Not cited by a verdict."
        thumb = _thumb(store, p["thumb_key"], f"photo {p['id']}")
        blocks.append(f'<div class="photo-block" id="photo-{p["id"]}"><h3>Photo {p["id"]}</h3>'
                      f"{thumb}<p>{_facts(p)}</p>{_checks(p)}<p>{cited_by}</p></div>")
    total = photos[0]["total"]
    more = f"<p>{len(photos)} of {total} photos shown.</p>" if total > len(photos) else ""
    return "<h2>Photos</h2>" + more + "".join(blocks)
