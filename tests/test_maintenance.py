"""``cbm db cluster-signatures``: same rows, parcel order on disk, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from backend.db import connect
from backend.db.signatures import COLUMNS, encode_signatures
from backend.errors import CbmError, ParcelSetNotFound
from backend.extraction.maintenance import cluster_signatures

N_PARCELS, N_IMAGES = 2000, 12


def _fill(conn) -> int:
    set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid) VALUES ('mt', 2025, 32631) "
                          "RETURNING id").fetchone()["id"]
    conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))
    rng = np.random.default_rng(3)
    for k in range(N_IMAGES):  # one image at a time, as extraction writes them
        image_id = conn.execute(
            "INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, item, item_hash) "
            "VALUES (%s, 'c', 's2', now(), ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '{B02,B03,B04}', '{}', "
            "'h') RETURNING id", (f"i{k}",)).fetchone()["id"]
        stats = rng.normal(size=(N_PARCELS, 3, 8)).astype(np.float32)
        payload = encode_signatures(set_id, image_id, np.arange(1, N_PARCELS + 1), np.full(N_PARCELS, 9),
                                    np.ones(N_PARCELS), stats, rng.integers(0, 9, (N_PARCELS, 12)))
        with conn.cursor() as cur, cur.copy(f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN "
                                            "(FORMAT BINARY)") as cp:
            cp.write(payload)
    conn.commit()
    return int(set_id)


def _snapshot(conn, set_id: int) -> tuple[str, float]:
    """Checksum of every row in key order, and the mean number of heap pages per parcel."""
    row = conn.execute(
        f"SELECT md5(string_agg(concat_ws('|', parcel_id, image_id, n_total, valid_frac, hist, stats), "
        f"',' ORDER BY parcel_id, image_id)) AS md5, (SELECT avg(n) FROM (SELECT count(DISTINCT "
        f"(ctid::text::point)[0]) AS n FROM signatures_s{set_id} GROUP BY parcel_id) x) AS pages "
        f"FROM signatures_s{set_id}").fetchone()
    return row["md5"], float(row["pages"])


def test_cluster_keeps_rows_and_puts_a_series_on_few_pages(clean_db, conn):
    set_id = _fill(conn)
    before, pages_before = _snapshot(conn, set_id)
    assert pages_before == N_IMAGES  # one page per image before: the layout extraction leaves
    conn.rollback()  # end the reading transaction: clustering needs the partition to itself
    message = cluster_signatures(clean_db, "mt", 2025)
    assert "clustered by parcel" in message
    after, pages_after = _snapshot(conn, set_id)
    assert after == before
    assert pages_after < 2  # 12 rows of ~200 bytes: one page, two where a series crosses a page
    n = conn.execute(f"SELECT count(*) AS n FROM signatures_s{set_id}").fetchone()["n"]
    assert n == N_PARCELS * N_IMAGES


def test_cluster_refuses_unknown_set_and_a_locked_partition(clean_db, conn):
    with pytest.raises(ParcelSetNotFound, match="no parcel set zz 2025"):
        cluster_signatures(clean_db, "zz", 2025)
    set_id = _fill(conn)
    with connect(clean_db) as other:
        other.execute(f"LOCK TABLE signatures_s{set_id} IN ACCESS SHARE MODE")  # a long reader
        with pytest.raises(CbmError, match=r"in use .* not locked within 0\.5 s"):
            cluster_signatures(clean_db, "mt", 2025, lock_timeout_s=0.5)
        other.rollback()
    assert _snapshot(conn, set_id)[1] == N_IMAGES  # untouched
