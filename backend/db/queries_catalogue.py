"""SQL of the image catalogue (``images`` and the jobs it creates in ``extraction_jobs``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[DictRow]

_EXISTING = """
SELECT id, collection, item_id, item_hash
FROM images
WHERE (collection, item_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""

_ASSETS = """
SELECT id, item->'assets' AS assets, item->'properties'->'cbm:assets' AS band_map
FROM images WHERE id = ANY(%s)
"""

_COLUMNS = ("item_id", "collection", "kind", "datetime", "footprint", "cloud_cover", "epsg", "bands",
            "item", "item_hash", "provider", "platform", "orbit_state", "relative_orbit", "tile",
            "mask", "start_datetime", "end_datetime")
_UPSERT = f"""
INSERT INTO images ({", ".join(_COLUMNS)})
VALUES ({", ".join("ST_Multi(ST_GeomFromWKB(%(footprint)s, 4326))" if c == "footprint" else f"%({c})s"
                   for c in _COLUMNS)})
ON CONFLICT (collection, item_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[2:])}, updated_at = now()
RETURNING id
"""

_DELETE_STALE_SIGNATURES = """
DELETE FROM signatures s USING extraction_jobs j
WHERE j.image_id = ANY(%(ids)s) AND j.status IN ('done', 'failed')
  AND s.set_id = j.set_id AND s.image_id = j.image_id
"""

_RESET_JOBS = """
UPDATE extraction_jobs SET
    status = 'pending', attempts = 0, not_before = now(), lease_until = NULL, worker = NULL,
    error = NULL, n_parcels = NULL, n_rows = NULL, started_at = NULL, finished_at = NULL
WHERE image_id = ANY(%(ids)s) AND status IN ('done', 'failed')
"""

_CREATE_JOBS = """
INSERT INTO extraction_jobs (image_id, set_id)
SELECT i.id, ps.id
FROM images i JOIN parcel_sets ps
  ON ps.extent IS NOT NULL AND ST_Intersects(i.footprint, ps.extent)
WHERE i.id = ANY(%(ids)s) AND i.duplicate_of IS NULL AND cbm_in_season(i.datetime, ps)
ON CONFLICT (image_id, set_id) DO NOTHING
"""

_TWINS = """
SELECT n.id AS new_id, n.provider AS new_provider, n.collection AS new_collection,
       o.id AS old_id, o.provider AS old_provider, o.collection AS old_collection,
       EXISTS (SELECT 1 FROM extraction_jobs j WHERE j.image_id = o.id AND j.status = 'done')
           AS old_extracted
FROM images n JOIN images o
  ON o.kind = n.kind AND o.platform = n.platform AND o.tile = n.tile AND o.id <> n.id
 AND o.duplicate_of IS NULL AND NOT (o.id = ANY(%(ids)s) AND o.id > n.id)
 AND o.datetime BETWEEN n.datetime - interval '60 seconds' AND n.datetime + interval '60 seconds'
WHERE n.id = ANY(%(ids)s) AND n.duplicate_of IS NULL AND n.tile IS NOT NULL
ORDER BY n.id, o.id
"""

_MARK_DUPLICATE = """
WITH m AS (UPDATE images SET duplicate_of = %(keep)s WHERE id = %(dup)s RETURNING id)
DELETE FROM extraction_jobs j USING m WHERE j.image_id = m.id AND j.status = 'pending'
"""

_LIST = """
SELECT id, item_id, collection, kind, datetime, cloud_cover, epsg, bands, provider, platform,
       orbit_state, relative_orbit, tile, mask, start_datetime, end_datetime, duplicate_of,
       ARRAY[ST_XMin(footprint), ST_YMin(footprint), ST_XMax(footprint), ST_YMax(footprint)]
           AS bbox,
       added_at, updated_at
FROM images
WHERE (%(kind)s::text IS NULL OR kind = %(kind)s)
  AND (%(collection)s::text IS NULL OR collection = %(collection)s)
  AND (%(start)s::timestamptz IS NULL OR datetime >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR datetime <= %(end)s)
ORDER BY datetime, collection, item_id
"""

_GET = """
SELECT id, item_id, collection, kind, datetime, cloud_cover, epsg, bands, item, item_hash,
       provider, platform, orbit_state, relative_orbit, tile, mask, start_datetime, end_datetime,
       duplicate_of, ST_AsGeoJSON(footprint)::json AS footprint, added_at, updated_at
FROM images WHERE id = %s
"""

_SUMMARY = """
SELECT i.provider, i.collection, i.kind, count(*) AS n_images,
       count(*) FILTER (WHERE i.duplicate_of IS NOT NULL) AS n_duplicates,
       min(i.datetime) AS first, max(i.datetime) AS last,
       coalesce(sum(j.pending), 0)::int AS jobs_pending,
       coalesce(sum(j.done), 0)::int AS jobs_done,
       coalesce(sum(j.failed), 0)::int AS jobs_failed
FROM images i
LEFT JOIN (
    SELECT image_id,
           count(*) FILTER (WHERE status IN ('pending', 'running')) AS pending,
           count(*) FILTER (WHERE status = 'done') AS done,
           count(*) FILTER (WHERE status = 'failed') AS failed
    FROM extraction_jobs GROUP BY image_id
) j ON j.image_id = i.id
GROUP BY i.provider, i.collection, i.kind
ORDER BY i.collection, i.kind, i.provider
"""


def existing_images(
    conn: Conn, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Catalogued images among ``(collection, item_id)`` keys: their id and item hash."""
    if not keys:
        return {}
    collections, item_ids = [k[0] for k in keys], [k[1] for k in keys]
    rows = conn.execute(_EXISTING, (collections, item_ids)).fetchall()
    return {(r["collection"], r["item_id"]): r for r in rows}


def image_assets(conn: Conn, image_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Image id -> the stored ``assets`` and band map (``cbm:assets``) of its item."""
    if not image_ids:
        return {}
    return {r["id"]: r for r in conn.execute(_ASSETS, (list(image_ids),)).fetchall()}


def upsert_images(conn: Conn, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert or update images (keyed by collection and item id); returns their ids in order.

    Each row holds the ``images`` columns; ``footprint`` is the WKB of a 4326 (Multi)Polygon;
    ``item`` is a dict, or its JSON text (stored as it is, not serialised again).
    """
    if not rows:
        return []
    params = [{**r, "item": Jsonb(r["item"], dumps=_as_is) if isinstance(r["item"], str)
               else Jsonb(r["item"]), "bands": list(r["bands"])} for r in rows]
    ids = []
    with conn.cursor() as cur:
        cur.executemany(_UPSERT, params, returning=True)
        while True:
            row = cur.fetchone()
            assert row is not None
            ids.append(row["id"])
            if not cur.nextset():
                break
    return ids


def set_item_hashes(conn: Conn, hashes: Mapping[int, str]) -> None:
    """Store new item hashes (image id -> hash) without touching anything else."""
    if hashes:
        conn.execute("UPDATE images i SET item_hash = h.hash FROM unnest(%s::int[], %s::text[]) "
                     "AS h(id, hash) WHERE i.id = h.id", (list(hashes), list(hashes.values())))


def _as_is(text: str) -> str:
    return text


def reset_jobs(conn: Conn, image_ids: Sequence[int]) -> int:
    """Set the done/failed jobs of images back to pending and drop their stale signatures."""
    if not image_ids:
        return 0
    conn.execute(_DELETE_STALE_SIGNATURES, {"ids": list(image_ids)})
    return conn.execute(_RESET_JOBS, {"ids": list(image_ids)}).rowcount


def _rank(preference: Sequence[str], provider: str, collection: str) -> int:
    for i, entry in enumerate(preference):
        if entry in (provider, f"{provider}:{collection}"):
            return i
    return len(preference)


def mark_duplicates(conn: Conn, image_ids: Sequence[int], preference: Sequence[str]) -> int:
    """Record new images that are another copy of a catalogued acquisition; returns how many.

    Same kind, platform and tile within a minute is one acquisition. The copy kept is the
    one ranked first by ``preference`` (entries ``provider`` or ``provider:collection``;
    the catalogued copy on a tie, or when it already has a finished job); the other gets
    ``duplicate_of`` and loses its pending jobs.
    """
    if not image_ids:
        return 0
    marked: set[int] = set()
    for r in conn.execute(_TWINS, {"ids": list(image_ids)}).fetchall():
        if r["new_id"] in marked or r["old_id"] in marked:
            continue
        new_rank = _rank(preference, r["new_provider"], r["new_collection"])
        old_rank = _rank(preference, r["old_provider"], r["old_collection"])
        keep, dup = ((r["new_id"], r["old_id"]) if new_rank < old_rank and not r["old_extracted"]
                     else (r["old_id"], r["new_id"]))
        conn.execute(_MARK_DUPLICATE, {"keep": keep, "dup": dup})
        marked.add(dup)
    return len(marked)


def create_jobs(conn: Conn, image_ids: Sequence[int]) -> int:
    """Create the missing jobs of images for every parcel set whose extent they overlap.

    ``parcel_sets`` is locked in SHARE mode first (until commit): a parcel set imported
    concurrently is either visible here or its importer sees these images, never neither.
    """
    if not image_ids:
        return 0
    conn.execute("LOCK TABLE parcel_sets IN SHARE MODE")
    return conn.execute(_CREATE_JOBS, {"ids": list(image_ids)}).rowcount


def list_images(
    conn: Conn, *, kind: str | None = None, collection: str | None = None,
    start: dt.datetime | None = None, end: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Images (without item JSON) by kind, collection and time range, oldest first."""
    params = {"kind": kind, "collection": collection, "start": start, "end": end}
    return conn.execute(_LIST, params).fetchall()


def get_image(conn: Conn, image_id: int) -> dict[str, Any] | None:
    """One image with its item JSON and footprint (GeoJSON), or None."""
    return conn.execute(_GET, (image_id,)).fetchone()


def summary(conn: Conn) -> list[dict[str, Any]]:
    """Per collection and kind: image count, date range and extraction job counts."""
    return conn.execute(_SUMMARY).fetchall()


def analyze_images(conn: Conn) -> None:
    """Refresh the planner statistics of ``images`` (the time-series plan depends on them)."""
    conn.execute("ANALYZE images")


def catalogue_bands(conn: Conn) -> list[dict[str, Any]]:
    """Per kind, provider and collection: image count, the bands and masks the images have."""
    return conn.execute(
        "SELECT kind, provider, collection, count(*) AS n_images, "
        "array_agg(DISTINCT mask ORDER BY mask) AS masks, "
        "(SELECT array_agg(DISTINCT b) FROM images j, unnest(j.bands) b WHERE j.kind = i.kind "
        " AND j.provider = i.provider AND j.collection = i.collection) AS bands "
        "FROM images i WHERE duplicate_of IS NULL GROUP BY kind, provider, collection "
        "ORDER BY kind, provider, collection").fetchall()
