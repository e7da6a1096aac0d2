"""Benchmark: catalogue 10 000 real STAC items from NDJSON and through a local STAC API.

The items are the real provider items of ../shared/realdata/stac that the catalogue accepts
(CDSE, Earth Search L2A and C1, Planetary Computer S2 L2A and S1 RTC), multiplied with new ids
and acquisition times (every item its own acquisition, so no duplicates) and kept as published
otherwise: their projection fields mean no raster is opened, as with a provider's real items.

1. NDJSON: ``add_source`` into a fresh database (all added), then again (all unchanged).
2. STAC API: the same items loaded into pgSTAC (its own database, pypgstac) and served by
   stac-fastapi-pgstac on loopback (tests/stac_pgstac.py). A bare pystac-client search pages
   through every item (``items_as_dicts``, nothing else done) and ``add_source`` catalogues
   them from the same search into a fresh database, with the same page size, one after the
   other in this run. Target: >= 500 items/s from NDJSON; the API no slower than the bare paging.

    .venv/bin/python bench/catalogue.py [--n 10000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pystac_client import Client  # noqa: E402
from stac_pgstac import load, pgstac_database, stac_api  # noqa: E402

from backend.catalogue import add_source  # noqa: E402
from backend.db import cluster, temporary_database  # noqa: E402
from backend.settings import Settings, load_settings  # noqa: E402

REALDATA = ROOT.parent / "shared" / "realdata" / "stac"
TEMPLATES = ("cdse-s2l2a-v110.json", "es-v1-s2l2a.json", "es-v1-s2c1l2a.json", "pc-s2l2a.json",
             "pc-s1rtc.json")
T0 = dt.datetime(2024, 10, 1, tzinfo=dt.UTC)


def _templates() -> list[dict[str, Any]]:
    docs = []
    for name in TEMPLATES:
        doc = json.loads((REALDATA / name).read_text())
        docs.append(doc["features"][0] if doc.get("type") == "FeatureCollection" else doc)
    return docs


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_items(n: int) -> Iterator[dict[str, Any]]:
    """``n`` copies of the real items, each with its own id and acquisition time."""
    templates = _templates()
    for i in range(n):
        doc = copy.deepcopy(templates[i % len(templates)])
        when = T0 + dt.timedelta(minutes=7 * i)
        doc["id"] = f"{doc['id']}_bench{i:06d}"
        props = doc["properties"]
        props["datetime"] = _iso(when)
        if props.get("start_datetime"):
            props["start_datetime"] = _iso(when - dt.timedelta(seconds=9))
            props["end_datetime"] = _iso(when + dt.timedelta(seconds=9))
        doc["links"] = []
        yield doc


def items_file(n: int) -> Path:
    path = ROOT / "var" / "bench" / f"catalogue_items_{n}.ndjson"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as out:
            for doc in make_items(n):
                out.write(json.dumps(doc) + "\n")
    return path


def _timed(what: str, n: int, fn: Any) -> tuple[float, Any]:
    """Wall time (and this process's CPU time per item: the machine is shared) of ``fn()``."""
    t, cpu = time.perf_counter(), time.process_time()
    value = fn()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    load = os.getloadavg()[0]
    print(f"{what:<44} {seconds:7.2f} s  {n / seconds:8,.0f} items/s   CPU {cpu / n * 1e3:5.2f} ms/item"
          f" ({n / cpu:6,.0f} items per CPU-s), load {load:.1f}", flush=True)
    return seconds, value


def _check(result: Any, n: int, what: str) -> None:
    if result.rejected or result.added + result.unchanged != n:
        raise SystemExit(f"{what}: expected {n} items, got {result} (first rejection: "
                         f"{result.rejected[:1]})")


def bench_ndjson(base: Settings, path: Path, n: int) -> float:
    with temporary_database(base, "cbm_bench_catalogue") as settings:
        seconds, first = _timed("NDJSON add (new)", n, lambda: add_source(settings, str(path)))
        _check(first, n, "NDJSON add")
        _, again = _timed("NDJSON add again (unchanged)", n, lambda: add_source(settings, str(path)))
        _check(again, n, "NDJSON re-add")
    return seconds


def bench_api(base: Settings, path: Path, n: int, page_size: int) -> tuple[float, float]:
    with pgstac_database(base, "cbm_bench_pgstac") as dsn:
        with path.open() as lines:
            _timed("pgSTAC load (pypgstac, not compared)", n, lambda: load(dsn, map(json.loads, lines)))
        with stac_api(dsn, log=ROOT / "var" / "bench" / "stac-fastapi.log") as url:
            def paging() -> int:
                search = Client.open(url).search(limit=page_size)
                return sum(1 for _ in search.items_as_dicts())
            bare, count = _timed(f"bare pystac-client paging (limit {page_size})", n, paging)
            if count != n:
                raise SystemExit(f"the STAC API served {count} items, expected {n}")
            with temporary_database(base, "cbm_bench_catalogue") as settings:
                ours, result = _timed(f"STAC API add (page size {page_size})", n,
                                      lambda: add_source(settings, url, page_size=page_size))
                _check(result, n, "STAC API add")
    return bare, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    base = load_settings(demo_mode=True)
    if base.uses_embedded_db:
        cluster.start(base)
    path = items_file(args.n)
    print(f"{args.n} items ({', '.join(TEMPLATES)}), {path.stat().st_size / 1e6:.0f} MB NDJSON")
    ndjson = bench_ndjson(base, path, args.n)
    bare, ours = bench_api(base, path, args.n, args.page_size)
    print()
    print(f"NDJSON     {args.n / ndjson:8,.0f} items/s   (target >= 500)")
    print(f"STAC API   {args.n / ours:8,.0f} items/s   vs bare paging {args.n / bare:,.0f} items/s:"
          f" catalogue / paging time = {ours / bare:.2f}  (target <= 1.00)")


if __name__ == "__main__":
    main()
