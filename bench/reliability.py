"""Reliability summary: run ``tests/reliability`` (the load test bigger: 64 clients x 120 s by
default) and print faults injected and survived, bad inputs rejected cleanly, rows lost or
duplicated, 5xx seen and latency under load.

    .venv/bin/python bench/reliability.py [--clients 64] [--seconds 120] [--pool-max N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_suite(clients: int, seconds: float, report: Path, pool_max: int | None) -> int:
    env = {**os.environ, "CBM_RELIABILITY_REPORT": str(report), "CBM_REL_LOAD_CLIENTS": str(clients),
           "CBM_REL_LOAD_SECONDS": str(seconds)}
    if pool_max:
        env["CBM_REL_POOL_MAX"] = str(pool_max)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "--timeout", str(int(seconds) + 600), "tests/reliability"]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


def summarize(lines: list[dict]) -> dict:
    kinds = ("fault", "bad_input", "injection", "auth", "load")
    by = {k: [x for x in lines if x["kind"] == k] for k in kinds}
    faults, bad = by["fault"], by["bad_input"]
    load = by["load"][0] if by["load"] else {}
    fivexx = sum(x.get("server_errors", 0) for x in by["injection"] + by["auth"])
    fivexx += sum(v for k, v in load.get("codes", {}).items() if k.isdigit() and int(k) >= 500)
    return {
        "faults injected": sum(x["injected"] for x in faults),
        "fault scenarios survived": f"{sum(x['survived'] for x in faults)}/{len(faults)}",
        "bad inputs rejected cleanly": f"{sum(x['clean'] for x in bad)}/{len(bad)}",
        "rows lost": sum(x["lost"] for x in faults), "rows duplicated": sum(x["duplicated"] for x in faults),
        "5xx seen": fivexx, "injection requests": sum(x["requests"] for x in by["injection"]),
        "auth": by["auth"], "load": load, "faults": faults,
    }


def print_summary(s: dict) -> None:
    for key in ("faults injected", "fault scenarios survived", "bad inputs rejected cleanly", "rows lost",
                "rows duplicated", "5xx seen", "injection requests"):
        print(f"{key:<30} {s[key]}")
    for f in s["faults"]:
        print(f"  fault {f['fault']:<24} injected {f['injected']:>3}  survived {f['survived']}")
    for a in s["auth"]:
        print("  auth", json.dumps(a))
    load = s["load"]
    if load:
        codes = Counter(load["codes"])
        print(f"load: {load['clients']} clients x {load['seconds']:g} s, {load['requests']} requests, "
              f"200: {codes.get('200', 0)}, 429 (rate limit): {codes.get('429', 0)}, other: "
              f"{ {k: v for k, v in codes.items() if k not in ('200', '429')} }, "
              f"extractions meanwhile: {load['extractions']}, torn reads: {load['torn_reads']}")
        print(f"latency of 200s p50/p95/p99: {load['p50_ms']:.1f} / {load['p95_ms']:.1f} / "
              f"{load['p99_ms']:.1f} ms")
        print(f"server RSS MB: middle third {load['rss_mb_start']:.0f}, last third {load['rss_mb_end']:.0f}, "
              f"max {load['rss_mb_max']:.0f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--pool-max", type=int, default=None, help="CBM_API_POOL_MAX of the load server")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "reliability.jsonl"
        rc = run_suite(args.clients, args.seconds, report, args.pool_max)
        lines = [json.loads(x) for x in report.read_text().splitlines()] if report.exists() else []
    summary = summarize(lines)
    print_summary(summary)
    ok = rc == 0 and summary["rows lost"] == summary["rows duplicated"] == summary["5xx seen"] == 0
    print("RESULT", "OK" if ok else "FAILED", f"(pytest exit {rc})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
