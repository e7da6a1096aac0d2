"""The signatures layout: binary COPY in, decoded back by numpy and by the SQL functions."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import psycopg
import pytest

from backend.db import connect, temporary_database
from backend.db.migrate import MIGRATIONS_DIR, migrate
from backend.db.signatures import COLUMNS, encode_signatures, unpack_hist, unpack_stats


def _set_and_image(conn) -> tuple[int, int]:
    set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid) VALUES ('cp', 2025, 32631) "
                          "RETURNING id").fetchone()["id"]
    conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))
    image_id = conn.execute(
        "INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, item, item_hash) "
        "VALUES ('x', 'c', 's2', now(), ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '{B02,B03}', '{}', 'h') "
        "RETURNING id").fetchone()["id"]
    return set_id, image_id


def _copy(conn, payload: bytes) -> None:
    with conn.cursor() as cur, cur.copy(
            f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)


def test_binary_copy_roundtrip_numpy_and_sql_decoders(clean_db, conn):
    set_id, image_id = _set_and_image(conn)
    rng = np.random.default_rng(1)
    n = 50
    stats = rng.normal(size=(n, 2, 8)).astype(np.float32)
    stats[3] = np.nan  # a parcel with no valid pixel
    stats[4, 0, :4] = [np.inf, -np.inf, 1e-45, -3.4e38]  # extremes and a subnormal
    stats[5, 1, 1] = 1e-40
    hist = rng.integers(0, 1000, size=(n, 12))
    hist[6, 0] = 40_000  # saturates at the int16 maximum
    ids = np.arange(1, n + 1)
    _copy(conn, encode_signatures(set_id, image_id, ids, ids * 10, np.full(n, 0.5), stats, hist))
    rows = conn.execute("SELECT n_total, valid_frac, hist, stats, cbm_hist(hist) AS sql_hist, "
                        "cbm_stats(stats) AS sql_stats, cbm_stat(stats, 2, 6) AS b2_p25 "
                        "FROM signatures WHERE set_id = %s ORDER BY parcel_id", (set_id,)).fetchall()
    assert len(rows) == n
    assert rows[0]["n_total"] == 10 and rows[0]["valid_frac"] == 0.5
    np.testing.assert_array_equal(unpack_stats([r["stats"] for r in rows]), stats)
    np.testing.assert_array_equal(np.array([r["sql_stats"] for r in rows], np.float32), stats)
    np.testing.assert_array_equal(np.array([r["b2_p25"] for r in rows], np.float32), stats[:, 1, 5])
    assert unpack_hist(rows[7]["hist"]) == rows[7]["sql_hist"] == hist[7].tolist()
    assert rows[6]["sql_hist"][0] == 32767
    assert all(math.isnan(v) for band in rows[3]["sql_stats"] for v in band)
    np.testing.assert_array_equal(unpack_stats(rows[8]["stats"]), stats[8])
    conn.rollback()


def test_binary_copy_without_hist(clean_db, conn):
    set_id, image_id = _set_and_image(conn)
    stats = np.ones((3, 2, 8), np.float32)
    _copy(conn, encode_signatures(set_id, image_id, np.array([1, 2, 3]), np.array([4, 4, 4]),
                                  np.ones(3), stats, None))
    row = conn.execute("SELECT hist, cbm_stats(stats) AS stats FROM signatures "
                       "WHERE parcel_id = 2").fetchone()
    assert row["hist"] is None and unpack_hist(row["hist"]) is None and row["stats"] == [[1.0] * 8] * 2
    conn.rollback()


def test_packed_values_of_the_wrong_size_are_refused(clean_db, conn):
    set_id, image_id = _set_and_image(conn)
    insert = ("INSERT INTO signatures (set_id, parcel_id, image_id, n_total, valid_frac, hist, stats) "
              "VALUES (%s, 1, %s, 1, 1, %s, %s)")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(insert, (set_id, image_id, None, b"\0" * 31))
    conn.rollback()
    set_id, image_id = _set_and_image(conn)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(insert, (set_id, image_id, b"\0" * 22, b"\0" * 32))
    conn.rollback()


def test_migration_packs_existing_array_rows(settings, tmp_path: Path):
    """Rows written in the old layout (real[][] and smallint[]) read the same after migration 0006."""
    old = tmp_path / "old"
    old.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0006":
            shutil.copy(path, old / path.name)
    stats = [[[5.0, 0.25, 1e-3, -2.0, float("inf"), float("nan"), 3.5, 4.0], [1.0] * 8],
             [[0.0, float("nan")] + [1e-40] * 6, [-7.5] * 8]]
    with temporary_database(settings, "cbm_test_migrate_0006", migrations=old) as s, connect(s) as conn:
        set_id, image_id = _set_and_image(conn)
        for pid, (st, hist) in enumerate(zip(stats, [[1] * 12, None], strict=True), start=1):
            conn.execute("INSERT INTO signatures (set_id, parcel_id, image_id, n_total, valid_frac, hist, "
                         "stats) VALUES (%s, %s, %s, 9, 1, %s, %s)", (set_id, pid, image_id, hist, st))
        conn.commit()
        assert "0006" in " ".join(migrate(conn))
        rows = conn.execute("SELECT hist, stats FROM signatures ORDER BY parcel_id").fetchall()
        np.testing.assert_array_equal(unpack_stats([r["stats"] for r in rows]), np.array(stats, np.float32))
        assert unpack_hist(rows[0]["hist"]) == [1] * 12 and rows[1]["hist"] is None
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO signatures (set_id, parcel_id, image_id, n_total, valid_frac, stats) "
                         "VALUES (%s, 1, %s, 1, 1, %s)", (set_id, image_id, b"\0" * 32))
