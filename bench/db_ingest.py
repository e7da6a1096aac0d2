"""Signature ingest speed and size: binary COPY of numpy-built rows into the real schema.

Prints band-rows per second (COPY of a numpy-built buffer into the indexed partition, the same
path the extraction uses) and bytes per band-row on disk including indexes, per image kind:
each kind goes into its own parcel set, so each partition's size is that kind's alone. S2 rows
carry the demo's 6 bands and (``--s2-bands 10``) a full L2A band set. Runs in a temporary
database of the embedded cluster (created and dropped here). Synthetic rows.

    .venv/bin/python bench/db_ingest.py [--parcels 500000] [--images 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from backend.db import connect, temporary_database
from backend.db.signatures import COLUMNS, encode_signatures
from backend.settings import load_settings

S2_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
KINDS = {"s2": ("B02", "B03", "B04", "B05", "B08", "B11"), "s2-10": S2_BANDS, "bs": ("VV", "VH"),
         "c6": ("VV", "VH")}


def _setup(conn, kind: str, bands: tuple[str, ...], n_images: int) -> tuple[int, list[int]]:
    set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid, ptype) "
                          "VALUES ('bench', 2025, 32631, %s) RETURNING id",
                          (kind.replace("-", ""),)).fetchone()["id"]
    conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))
    images = [conn.execute(
        "INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, item, item_hash) "
        "VALUES (%s, 'bench', %s, now(), ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), %s, '{}', 'h') "
        "RETURNING id", (f"{kind}{k}", kind[:2], list(bands))).fetchone()["id"] for k in range(n_images)]
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
    conn.autocommit = False
    print(f"{n} parcels x {n_images} images per kind, COPY into one signature partition per kind "
          "(unique (parcel, image) index + BRIN on image)")
    sizes: dict[str, tuple[int, int]] = {}
    for kind, bands in KINDS.items():
        set_id, images = _setup(conn, kind, bands, n_images)
        enc = copy_s = 0.0
        for image_id in images:
            t0 = time.perf_counter()
            payload = _payload(rng, set_id, image_id, n, len(bands), kind.startswith("s2"))
            t1 = time.perf_counter()
            with conn.cursor() as cur, cur.copy(f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN "
                                                "(FORMAT BINARY)") as cp:
                cp.write(payload)
            conn.commit()
            enc, copy_s = enc + t1 - t0, copy_s + time.perf_counter() - t1
        band_rows = n * n_images * len(bands)
        rel = f"signatures_s{set_id}"
        size = conn.execute(f"SELECT pg_relation_size('{rel}') AS h, pg_indexes_size('{rel}') AS i, "
                            f"(SELECT avg(pg_column_size(s.*)) FROM {rel} s) AS tuple").fetchone()
        sizes[kind] = (band_rows, size["h"] + size["i"])
        print(f"  {kind:5s} ({len(bands):2d} bands): encode {band_rows / enc / 1e6:.2f} M band-rows/s, "
              f"COPY+commit {band_rows / copy_s / 1e6:.2f} M band-rows/s "
              f"({n * n_images / copy_s / 1e3:.0f} k rows/s); "
              f"on disk {(size['h'] + size['i']) / band_rows:.1f} bytes per band-row (heap "
              f"{size['h'] / band_rows:.1f}, indexes {size['i'] / band_rows:.1f}; tuple "
              f"{float(size['tuple']):.0f} bytes per row)")
    demo = ("s2", "bs", "c6")
    rows, total = (sum(sizes[k][i] for k in demo) for i in (0, 1))
    print(f"  demo mix (S2 6 bands + S1 backscatter + coherence, one image each): {total / rows:.1f} bytes "
          f"per band-row, {total / 1e6:.0f} MB for {rows / 1e6:.1f} M band-rows")


if __name__ == "__main__":
    main()
