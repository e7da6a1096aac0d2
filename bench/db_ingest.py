"""Signature ingest speed and size: binary COPY of numpy-built rows into the real schema.

Prints band-rows per second (COPY of a numpy-built buffer into an indexed partition, the same
path the extraction uses) and bytes per band-row on disk, per image kind. Runs in a temporary
database of the embedded cluster (created and dropped here). Synthetic rows.

    .venv/bin/python bench/db_ingest.py [--parcels 500000] [--images 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from backend.db import connect, temporary_database
from backend.extraction.pgcopy import COLUMNS, encode_signatures
from backend.settings import load_settings

KINDS = {"s2": ("B02", "B03", "B04", "B05", "B08", "B11"), "bs": ("VV", "VH")}


def _setup(conn, n_images: int) -> tuple[int, dict[str, list[int]]]:
    set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid) VALUES ('bench', 2025, 32631) "
                          "RETURNING id").fetchone()["id"]
    conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))
    images: dict[str, list[int]] = {}
    for kind, bands in KINDS.items():
        for k in range(n_images):
            images.setdefault(kind, []).append(conn.execute(
                "INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, item, item_hash) "
                "VALUES (%s, 'bench', %s, now(), ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), %s, '{}', 'h') "
                "RETURNING id", (f"{kind}{k}", kind, list(bands))).fetchone()["id"])
    conn.commit()
    return set_id, images


def _payload(rng, set_id: int, image_id: int, n: int, nbands: int, s2: bool) -> bytes:
    stats = rng.normal(1000, 300, (n, nbands, 8)).astype(np.float32)
    hist = rng.integers(0, 300, (n, 12)) if s2 else None
    return encode_signatures(set_id, image_id, np.arange(1, n + 1), rng.integers(1, 2000, n),
                             rng.random(n), stats, hist)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parcels", type=int, default=500_000)
    ap.add_argument("--images", type=int, default=4)
    args = ap.parse_args()
    with temporary_database(load_settings(demo_mode=True), "cbm_bench_ingest") as s, connect(s) as conn:
        _run(conn, args.parcels, args.images)


def _run(conn, n: int, n_images: int) -> None:
    rng = np.random.default_rng(0)
    set_id, images = _setup(conn, n_images)
    conn.autocommit = False
    print(f"{n} parcels x {n_images} images per kind, COPY into signatures_s{set_id} (PK + image index)")
    for kind, bands in KINDS.items():
        enc = copy_s = 0.0
        for image_id in images[kind]:
            t0 = time.perf_counter()
            payload = _payload(rng, set_id, image_id, n, len(bands), kind == "s2")
            t1 = time.perf_counter()
            with conn.cursor() as cur, cur.copy(f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN "
                                                "(FORMAT BINARY)") as cp:
                cp.write(payload)
            conn.commit()
            enc, copy_s = enc + t1 - t0, copy_s + time.perf_counter() - t1
        band_rows = n * n_images * len(bands)
        print(f"  {kind}: encode {band_rows / enc / 1e6:.2f} M band-rows/s, "
              f"COPY+commit {band_rows / copy_s / 1e6:.2f} M band-rows/s "
              f"({n * n_images / copy_s / 1e3:.0f} k rows/s)")
    _sizes(conn, set_id, n, n_images)


def _sizes(conn, set_id: int, n: int, n_images: int) -> None:
    rel = f"signatures_s{set_id}"
    total = conn.execute(f"SELECT pg_total_relation_size('{rel}') AS t, pg_relation_size('{rel}') AS h, "
                         f"pg_indexes_size('{rel}') AS i").fetchone()
    band_rows = n * n_images * sum(len(b) for b in KINDS.values())
    for kind, bands in KINDS.items():
        per_row = conn.execute("SELECT avg(pg_column_size(s.*)) AS b FROM signatures s JOIN images i "
                               "ON i.id = s.image_id WHERE i.kind = %s", (kind,)).fetchone()["b"]
        print(f"  {kind}: {float(per_row):.0f} bytes per row = {float(per_row) / len(bands):.0f} bytes "
              f"per band-row (tuple only)")
    print(f"  on disk: {total['t'] / band_rows:.1f} bytes per band-row in all (heap "
          f"{total['h'] / band_rows:.1f}, indexes {total['i'] / band_rows:.1f}), "
          f"{total['t'] / 1e6:.0f} MB for {band_rows / 1e6:.1f} M band-rows")


if __name__ == "__main__":
    main()
