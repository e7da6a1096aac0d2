"""Check: every public call of the unmodified JRC ``cbm`` client (PyPI 0.0.18) against our API.

    .venv/bin/python scripts/jrc_client_check.py [--venv /tmp/cbm-jrc-venv] [--db cbm] [--aoi demo]
        [--year 2025] [--pid P000001] [--tms demo_ortho] [--start 2025-06-01 --end 2025-06-30]

Creates a separate virtualenv with ``cbm==0.0.18 'setuptools<81' 'pandas<2' 'numpy<2'
'ipywidgets<9'`` (reused when it exists; the client needs APIs recent pandas removed,
``pkg_resources``, and ipywidgets for its GUI panel), serves the
API on a free loopback port over the given database (default: the demo's, after ``make demo``:
background source ``demo_ortho`` is the demo's SYNTHETIC orthophoto), writes
``config/main.json`` in a temporary working directory and runs ``scripts/jrc_client_calls.py``
there with the client's Python: parcel info by location/id/polygon, peers, every time-series
type, the GUI panel's refresh (``get_options``, driven through its widgets), raw chips by
location and by parcel, backgrounds by location and by parcel, an unconfigured ``tms``, a chip
over the size limit, and the client's plotting helpers (``cbm.show``, headless). Prints what
the client got; the exit code is the client's (0 = every call worked).

``tests/api/test_jrc_client.py`` runs the same calls against the test API.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
CALLS = ROOT / "scripts" / "jrc_client_calls.py"
CLIENT_PACKAGES = ("cbm==0.0.18", "setuptools<81", "pandas<2", "numpy<2", "ipywidgets<9")
DEFAULT_VENV = Path(tempfile.gettempdir()) / "cbm-jrc-venv"


def client_venv(path: Path = DEFAULT_VENV) -> Path:
    """The Python of a virtualenv holding the JRC client (created on first use, from PyPI).

    A lock file next to it lets concurrent checks wait for the one that builds it.
    """
    import fcntl

    py, ready = path / "bin" / "python", path / ".cbm-client-ready"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ready.exists() or ready.read_text() != " ".join(CLIENT_PACKAGES):
            subprocess.run(["/usr/bin/python3", "-m", "venv", str(path)], check=True)
            subprocess.run([str(py), "-m", "pip", "install", "-q", *CLIENT_PACKAGES], check=True)
            ready.write_text(" ".join(CLIENT_PACKAGES))
    return py


def run_client(api_url: str, user: str, password: str, params: dict[str, Any], *, venv: Path = DEFAULT_VENV,
               figures: Path | None = None, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """Run every client call against ``api_url`` in a fresh working directory; output captured.

    Args:
        api_url: base URL of the API (``http://127.0.0.1:PORT``).
        user: login.
        password: password.
        params: ``aoi year pid lon lat tms start end polygon`` (see ``jrc_client_calls.py``).
        venv: the client's virtualenv (created when missing).
        figures: keep the plotting helpers' figures there (PNG).
        timeout_s: limit for the whole run.
    """
    py = client_venv(venv)
    with tempfile.TemporaryDirectory(prefix="cbm-jrc-") as work:
        (Path(work) / "config").mkdir()
        (Path(work) / "config" / "main.json").write_text(json.dumps({
            "set": {"data_source": "api"}, "paths": {"temp": str(Path(work) / "temp")},
            "api": {"url": api_url, "user": user, "pass": password}}))
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
        if figures is not None:
            env["CBM_JRC_FIGURES"] = str(figures)
        return subprocess.run([str(py), str(CALLS), json.dumps(params)], cwd=work, env=env, text=True,
                              capture_output=True, timeout=timeout_s, check=False)


def parcel_params(conn: Any, aoi: str, year: int, pid: str | None) -> dict[str, Any]:
    """``pid`` (default: the set's first), its centroid and a small polygon around it, in WGS84."""
    row = conn.execute(
        "SELECT p.pid, ST_X(c) AS lon, ST_Y(c) AS lat FROM parcels p JOIN parcel_sets s ON s.id = p.set_id "
        "CROSS JOIN LATERAL ST_Transform(ST_PointOnSurface(p.geom), 4326) c "
        "WHERE s.aoi = %s AND s.year = %s AND s.ptype = '' AND (%s::text IS NULL OR p.pid = %s) "
        "ORDER BY p.pid LIMIT 1", (aoi, year, pid, pid)).fetchone()
    if row is None:
        raise SystemExit(f"no parcel {pid or ''} in set {aoi} {year}: run `make demo` or give "
                         "--db/--aoi/--pid")
    lon, lat, d = row["lon"], row["lat"], 0.0002
    ring = [(lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d),
            (lon - d, lat - d)]
    return {"aoi": aoi, "year": year, "pid": row["pid"], "lon": round(lon, 6), "lat": round(lat, 6),
            "polygon": "-".join(f"{x:.6f}_{y:.6f}" for x, y in ring)}


def main() -> int:
    """Serve the API over a database and run the client calls; returns the client's exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--db", default="cbm", help="database of the embedded cluster (default: the demo's)")
    ap.add_argument("--aoi", default="demo")
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--pid", default=None, help="default: the set's first parcel id")
    ap.add_argument("--tms", default="demo_ortho", help="a configured background source")
    ap.add_argument("--start", default="2025-06-01")
    ap.add_argument("--end", default="2025-06-30")
    a = ap.parse_args()
    from procs import free_port, running

    from backend.db import connect, database_url
    from backend.settings import DEMO_ADMIN_PASSWORD, load_settings

    url = database_url(load_settings(demo_mode=True), a.db)
    with connect(load_settings(demo_mode=True, database_url=url)) as conn:
        params = {**parcel_params(conn, a.aoi, a.year, a.pid), "tms": a.tms, "start": a.start, "end": a.end}
    port = free_port()
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": url}
    server = [sys.executable, "-m", "uvicorn", "backend.api.app:app_from_env", "--factory",
              "--port", str(port), "--log-level", "warning"]
    with running(server, f"http://127.0.0.1:{port}/health", "API", env=env, cwd=ROOT, grace_s=10):
        done = run_client(f"http://127.0.0.1:{port}", "admin", DEMO_ADMIN_PASSWORD, params, venv=a.venv)
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
