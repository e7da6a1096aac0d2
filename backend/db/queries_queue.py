"""SQL of the review queue (table ``review_queue``, migration 0050): one row per parcel and marker run.

The queue is a cache of a run's decisions, grouped per parcel (worst colour, its conditions,
the lowest confidence among the worst-colour decisions), with area and crop for sorting. It is
(re)built by :func:`ensure_built` when the number of decisions of the run no longer matches the
last build; :func:`backend.db.queries_reviews.insert_review` keeps ``reviewed``/``verdict`` current.
Sort keys and filters come from fixed whitelists (no caller text reaches the SQL).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

Conn = psycopg.Connection[DictRow]

# sort name -> column (every sort is (column, pid), so keyset neighbours are exact)
SORT_COLUMNS = {"colour": "colour_rank", "confidence": "confidence", "area": "area_m2", "crop": "cropname",
                "reviewed": "reviewed", "pid": "pid"}
COLOURS = ("red", "yellow", "green")

_CONFIDENCE = """coalesce(
    (d.evidence->'features'->>'longest_confidence')::real,
    (SELECT max((e->>'confidence')::real) FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(d.evidence->'features'->'events') = 'array'
             THEN d.evidence->'features'->'events' ELSE '[]'::jsonb END) e),
    (d.evidence->'features'->>'score')::real, -1)"""

_BUILD = f"""
WITH d AS (
  SELECT d.parcel_id, d.condition, d.colour,
         array_position(ARRAY['red', 'yellow', 'green'], d.colour) - 1 AS rank, {_CONFIDENCE} AS conf
  FROM decisions d WHERE d.run_id = %(run)s AND d.set_id = %(s)s),
w AS (SELECT d.*, min(rank) OVER (PARTITION BY parcel_id) AS worst FROM d),
g AS (
  SELECT parcel_id, min(worst) AS rank, array_agg(condition ORDER BY condition) AS conds,
         array_agg(condition || ':' || colour ORDER BY condition) AS cc,
         min(conf) FILTER (WHERE rank = worst) AS conf
  FROM w GROUP BY parcel_id),
r AS (SELECT DISTINCT ON (parcel_id) parcel_id, verdict FROM reviews
      WHERE run_id = %(run)s AND set_id = %(s)s ORDER BY parcel_id, reviewed_at DESC, id DESC)
INSERT INTO review_queue (run_id, set_id, parcel_id, pid, colour_rank, conditions, cond_colours, confidence,
                          area_m2, cropcode, cropname, reviewed, verdict)
SELECT %(run)s, %(s)s, g.parcel_id, p.pid, g.rank, g.conds, g.cc, g.conf, p.area_m2,
       coalesce(p.cropcode, ''), coalesce(p.cropname, ''), r.verdict IS NOT NULL, r.verdict
FROM g JOIN parcels p ON p.set_id = %(s)s AND p.id = g.parcel_id LEFT JOIN r USING (parcel_id)"""


def latest_run(conn: Conn, set_id: int) -> int | None:
    """The latest marker run that has decisions for this set (as the decision endpoints use it)."""
    row = conn.execute("SELECT max(run_id) AS run FROM decisions WHERE set_id = %s", (set_id,)).fetchone()
    return None if row is None or row["run"] is None else int(row["run"])


def ensure_built(conn: Conn, run_id: int, set_id: int) -> None:
    """Build the queue of a run unless the last build saw the same number of decisions."""
    n = conn.execute("SELECT count(*) AS n FROM decisions WHERE run_id = %s AND set_id = %s",
                     (run_id, set_id)).fetchone()
    built = conn.execute("SELECT n_decisions FROM review_queue_builds WHERE run_id = %s",
                         (run_id,)).fetchone()
    if n is not None and built is not None and built["n_decisions"] == n["n"]:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (0x5251, run_id))  # "RQ": one builder per run
        n = conn.execute("SELECT count(*) AS n FROM decisions WHERE run_id = %s AND set_id = %s",
                         (run_id, set_id)).fetchone()
        assert n is not None
        conn.execute("DELETE FROM review_queue WHERE run_id = %s", (run_id,))
        conn.execute(_BUILD, {"run": run_id, "s": set_id})
        conn.execute("INSERT INTO review_queue_builds (run_id, n_decisions) VALUES (%s, %s) "
                     "ON CONFLICT (run_id) DO UPDATE SET n_decisions = excluded.n_decisions, "
                     "built_at = now()",
                     (run_id, n["n"]))


def _where(filters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """WHERE clause and parameters for the filters ``condition colour crop reviewed`` (None = any)."""
    parts, args = ["run_id = %(run)s"], {"run": filters["run"]}
    cond, colour = filters.get("condition"), filters.get("colour")
    if cond is not None and colour is not None:
        parts.append("cond_colours @> ARRAY[%(cc)s]::text[]")
        args["cc"] = f"{cond}:{colour}"
    elif cond is not None:
        parts.append("conditions @> ARRAY[%(cond)s]::text[]")
        args["cond"] = cond
    elif colour is not None:
        parts.append("colour_rank = %(rank)s")
        args["rank"] = COLOURS.index(colour)
    if filters.get("crop"):
        crop = filters["crop"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parts.append("(cropname ILIKE %(crop)s OR cropcode ILIKE %(crop)s)")
        args["crop"] = f"%{crop}%"
    if filters.get("reviewed") is not None:
        parts.append("reviewed = %(reviewed)s")
        args["reviewed"] = filters["reviewed"]
    return " AND ".join(parts), args


_COLUMNS = ("pid, parcel_id, colour_rank, conditions, cond_colours, confidence, area_m2, cropcode, cropname, "
            "reviewed, verdict")


def page(conn: Conn, filters: dict[str, Any], sort: str, descending: bool, offset: int,
         limit: int) -> tuple[int, list[dict[str, Any]]]:
    """Total matching the filters and one page in (sort column, pid) order."""
    where, args = _where(filters)
    col, way = SORT_COLUMNS[sort], "DESC" if descending else "ASC"
    total = conn.execute(f"SELECT count(*) AS n FROM review_queue WHERE {where}", args).fetchone()
    # the page's keys first (from the sort index alone), then their rows: a deep OFFSET skips
    # index entries, not whole rows
    rows = conn.execute(
        f"WITH k AS (SELECT pid AS k_pid FROM review_queue WHERE {where} ORDER BY {col} {way}, pid {way} "
        "OFFSET %(offset)s LIMIT %(limit)s) "
        f"SELECT {_COLUMNS} FROM k JOIN review_queue ON run_id = %(run)s AND pid = k_pid "
        f"ORDER BY {col} {way}, pid {way}", {**args, "offset": offset, "limit": limit}).fetchall()
    return (int(total["n"]) if total else 0), rows


def outlines(conn: Conn, set_id: int, parcel_ids: list[int]) -> dict[int, str]:
    """WGS84 GeoJSON (6 decimals) of these parcels, by internal id."""
    rows = conn.execute("SELECT id, ST_AsGeoJSON(ST_Transform(geom, 4326), 6) AS g FROM parcels "
                        "WHERE set_id = %s AND id = ANY(%s)", (set_id, parcel_ids)).fetchall()
    return {int(r["id"]): str(r["g"]) for r in rows}


def row(conn: Conn, run_id: int, pid: str) -> dict[str, Any] | None:
    """The queue row of one parcel in a run."""
    return conn.execute(f"SELECT {_COLUMNS} FROM review_queue WHERE run_id = %s AND pid = %s",
                        (run_id, pid)).fetchone()


def neighbour(conn: Conn, filters: dict[str, Any], sort: str, descending: bool,
              current: dict[str, Any], forward: bool) -> str | None:
    """The pid after (``forward``) or before ``current`` in the queue order with these filters."""
    where, args = _where(filters)
    col = SORT_COLUMNS[sort]
    after = forward != descending  # moving up the ascending order
    cmp, way = (">", "ASC") if after else ("<", "DESC")
    found = conn.execute(
        f"SELECT pid FROM review_queue WHERE {where} AND ({col}, pid) {cmp} (%(key)s, %(pid)s) "
        f"ORDER BY {col} {way}, pid {way} LIMIT 1",
        {**args, "key": current[col], "pid": current["pid"]}).fetchone()
    return None if found is None else str(found["pid"])


def position(conn: Conn, filters: dict[str, Any], sort: str, descending: bool,
             current: dict[str, Any]) -> int:
    """0-based position of ``current`` in the queue order with these filters."""
    where, args = _where(filters)
    col = SORT_COLUMNS[sort]
    cmp = ">" if descending else "<"
    n = conn.execute(f"SELECT count(*) AS n FROM review_queue WHERE {where} AND ({col}, pid) {cmp} "
                     "(%(key)s, %(pid)s)", {**args, "key": current[col], "pid": current["pid"]}).fetchone()
    return int(n["n"]) if n else 0
