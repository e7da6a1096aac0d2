from __future__ import annotations

import psycopg
import pytest

from backend.db import connect
from backend.db.migrate import available, migrate
from backend.errors import MigrationError


def test_migrations_reapply_is_noop(settings):
    with connect(settings) as conn:
        assert migrate(conn) == []
        n = conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()["n"]
    assert n == len(available())


def test_migrations_apply_to_empty_database(base_settings):
    name = "cbm_mig_empty"
    with connect(base_settings, dbname="postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        with connect(base_settings, dbname=name) as conn:
            applied = migrate(conn)
            assert applied[0] == "0001_core"
            assert migrate(conn) == []
    finally:
        with connect(base_settings, dbname="postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_changed_applied_migration_is_refused(settings, tmp_path):
    for mig in available():
        (tmp_path / f"{mig.version:04d}_{mig.name}.sql").write_text(mig.sql + "\n-- edited\n")
    with connect(settings) as conn, pytest.raises(MigrationError, match="was changed"):
        migrate(conn, tmp_path)


def test_badly_named_migration_is_refused(tmp_path):
    (tmp_path / "1_oops.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        available(tmp_path)


def test_failed_migration_leaves_no_trace(settings, tmp_path):
    for mig in available():
        (tmp_path / f"{mig.version:04d}_{mig.name}.sql").write_text(mig.sql)
    (tmp_path / "9999_broken.sql").write_text("CREATE TABLE t_ok (a int); SELECT nonsense_fn();")
    with connect(settings) as conn:
        with pytest.raises(MigrationError, match="9999_broken failed"):
            migrate(conn, tmp_path)
        assert conn.execute("SELECT to_regclass('t_ok') AS t").fetchone()["t"] is None
        assert conn.execute("SELECT count(*) AS n FROM schema_migrations WHERE version = 9999"
                            ).fetchone()["n"] == 0


def test_signatures_partitioned_per_set_with_indexes(conn):
    strategy = conn.execute(
        "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'signatures'::regclass"
    ).fetchone()
    assert strategy["partstrat"] == "l"
    indexes = {r["indexname"] for r in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'").fetchall()}
    for idx in ("parcels_geom_gix", "images_footprint_gix", "extraction_jobs_todo_idx",
                "decisions_parcel_idx", "signatures_image_brin"):
        assert idx in indexes


def test_signature_partition_created_for_set(conn):
    set_id = conn.execute(
        "INSERT INTO parcel_sets (aoi, year, srid) VALUES ('zz', 2025, 32631) RETURNING id"
    ).fetchone()["id"]
    conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))
    part = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'signatures'::regclass").fetchall()
    assert f"signatures_s{set_id}" in {r["relname"] for r in part}
    # one row per parcel x image: the partition's unique key refuses a duplicate
    row = (set_id, 1, 1, 4, 1.0, b"\0" * 32)
    insert = ("INSERT INTO signatures (set_id, parcel_id, image_id, n_total, valid_frac, stats) "
              "VALUES (%s, %s, %s, %s, %s, %s)")
    conn.execute(insert, row)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(insert, row)
    conn.rollback()


def test_parcel_id_lookup_by_pid_is_index_only(conn):
    """The time series finds a parcel's id by (set, pid) from the index alone; pids stay unique."""
    set_id = conn.execute(
        "INSERT INTO parcel_sets (aoi, year, srid) VALUES ('zy', 2025, 32631) RETURNING id"
    ).fetchone()["id"]
    conn.execute("INSERT INTO parcels (set_id, id, pid, area_m2, geom) SELECT %s, i, 'P' || i, 1, "
                 "ST_Multi(ST_MakeEnvelope(i, 0, i + 1, 1, 32631)) FROM generate_series(1, 5000) i",
                 (set_id,))
    conn.commit()
    conn.autocommit = True
    try:
        conn.execute("VACUUM ANALYZE parcels")  # sets the visibility map, as autovacuum does after an import
        plan = "\n".join(r["QUERY PLAN"] for r in conn.execute(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM parcels WHERE set_id = %s AND pid = 'P77'",
            (set_id,)).fetchall())
        assert "Index Only Scan using parcels_set_pid_key" in plan and "Heap Fetches: 0" in plan
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO parcels (set_id, id, pid, area_m2, geom) VALUES (%s, 9999, 'P77', 1, "
                         "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 32631)))", (set_id,))
    finally:
        conn.execute("DELETE FROM parcel_sets WHERE id = %s", (set_id,))
        conn.autocommit = False


def test_schema_constraints_reject_bad_rows(conn):
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO parcel_sets (aoi, year, srid) VALUES ('Bad AOI!', 2025, 4326)")
    conn.rollback()
