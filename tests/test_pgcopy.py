from __future__ import annotations

import math

import numpy as np

from backend.extraction.pgcopy import COLUMNS, encode_signatures


def _set_and_image(conn) -> tuple[int, int]:
    set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid) VALUES ('cp', 2025, 32631) "
                          "RETURNING id").fetchone()["id"]
    conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))
    image_id = conn.execute(
        "INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, item, item_hash) "
        "VALUES ('x', 'c', 's2', now(), ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '{B02,B03}', '{}', 'h') "
        "RETURNING id").fetchone()["id"]
    return set_id, image_id


def test_binary_copy_roundtrip(clean_db, conn):
    set_id, image_id = _set_and_image(conn)
    rng = np.random.default_rng(1)
    n = 50
    stats = rng.normal(size=(n, 2, 8)).astype(np.float32)
    stats[3] = np.nan  # a parcel with no valid pixel
    hist = rng.integers(0, 1000, size=(n, 12))
    ids = np.arange(1, n + 1)
    payload = encode_signatures(set_id, image_id, ids, ids * 10, np.full(n, 0.5), stats, hist)
    with conn.cursor() as cur, cur.copy(
            f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)
    rows = conn.execute("SELECT * FROM signatures WHERE set_id = %s ORDER BY parcel_id",
                        (set_id,)).fetchall()
    assert len(rows) == n
    assert rows[0]["n_total"] == 10 and rows[0]["valid_frac"] == 0.5
    assert rows[7]["hist"] == hist[7].tolist()
    got = np.array(rows[7]["stats"], dtype=np.float32)
    np.testing.assert_array_equal(got, stats[7])
    assert all(math.isnan(v) for band in rows[3]["stats"] for v in band)
    conn.rollback()


def test_binary_copy_without_hist(clean_db, conn):
    set_id, image_id = _set_and_image(conn)
    stats = np.ones((3, 2, 8), np.float32)
    payload = encode_signatures(set_id, image_id, np.array([1, 2, 3]), np.array([4, 4, 4]),
                                np.ones(3), stats, None)
    with conn.cursor() as cur, cur.copy(
            f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)
    row = conn.execute("SELECT hist, stats FROM signatures WHERE parcel_id = 2").fetchone()
    assert row["hist"] is None and row["stats"] == [[1.0] * 8] * 2
    conn.rollback()
