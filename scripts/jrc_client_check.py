"""Manual check: the unmodified JRC ``cbm`` client (PyPI 0.0.18) against our API.

    .venv/bin/python scripts/jrc_client_check.py [--venv /tmp/cbm-jrc-venv] [--db cbm_bench_api]

Creates a separate virtualenv with ``cbm==0.0.18 'setuptools<81' 'pandas<2' 'numpy<2'`` (reused when it
exists), serves the API on a free loopback port over the given database (default: the one
``bench/api.py`` fills, parcel set ``bench`` 2025, pids ``P1..``), writes ``config/main.json``
in a temporary working directory, stubs the client's PyPI version check (it calls pypi.org with
no timeout on import), and fetches a parcel by location, by id, its peers and its S2 time
series through ``cbm.get``. Prints what the client got; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENT = r'''
import json, sys, requests
_get = requests.get
def _stub(url, *a, **k):  # the client's version check asks PyPI on import
    if "pypi.org" in str(url):
        class R:
            def json(self): return {"info": {"version": "0.0.18"}}
        return R()
    return _get(url, *a, **k)
requests.get = _stub
import cbm
from cbm.get import parcel_info, time_series
from cbm.datas import api
lon, lat, pid = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
p = parcel_info.by_location("bench", 2025, lon, lat, geom=True)
print("by_location:", {k: v for k, v in p.items() if k != "geom"})
assert p["pid"] == [pid], p
q = parcel_info.by_pid("bench", 2025, pid, geom=True, wgs84=True)
print("by_pid:", q["pid"], q["area"], json.loads(q["geom"][0])["type"])
peers = json.loads(api.parcel_peers("bench", 2025, pid, 200, 5))
print("peers:", peers)
assert peers["pids"], peers
ts = time_series.by_pid("bench", 2025, pid, "s2")
import pandas as pd
df = pd.DataFrame.from_dict(ts, orient="columns")
df["date"] = pd.to_datetime(df["date_part"], unit="s")
print("time series:", df.shape, sorted(df["band"].unique()), df["date"].min(), df["date"].max())
assert len(df) > 0 and "hist" in df
print("JRC client check: OK")
'''


def _venv(path: Path) -> Path:
    py = path / "bin" / "python"
    if not py.exists():
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(path)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "cbm==0.0.18", "setuptools<81", "pandas<2",
                        "numpy<2"],
                       check=True)
    return py


def main() -> int:
    """Run the check; returns the client process exit code."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "cbm-jrc-venv")
    ap.add_argument("--db", default="cbm_bench_api")
    ap.add_argument("--pid", default="P1")
    a = ap.parse_args()
    from pyproj import Transformer

    from backend.db import connect, database_url
    from backend.procs import free_port, running
    from backend.settings import DEMO_ADMIN_PASSWORD, load_settings

    py = _venv(a.venv)
    url = database_url(load_settings(demo_mode=True), a.db)
    with connect(load_settings(demo_mode=True, database_url=url)) as conn:
        c = conn.execute("SELECT ST_X(ST_Centroid(geom)) x, ST_Y(ST_Centroid(geom)) y, "
                         "ST_SRID(geom) srid FROM parcels WHERE pid = %s", (a.pid,)).fetchone()
    lon, lat = Transformer.from_crs(c["srid"], 4326, always_xy=True).transform(c["x"], c["y"])
    port = free_port()
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": url}
    server = [sys.executable, "-m", "uvicorn", "backend.api.app:app_from_env", "--factory",
              "--port", str(port), "--log-level", "warning"]
    with (running(server, f"http://127.0.0.1:{port}/health", "API", env=env, cwd=ROOT, grace_s=10),
          tempfile.TemporaryDirectory() as work):
        (Path(work) / "config").mkdir()
        (Path(work) / "config" / "main.json").write_text(json.dumps({
            "set": {"data_source": "api"}, "paths": {"temp": str(Path(work) / "temp")},
            "api": {"url": f"http://127.0.0.1:{port}", "user": "admin", "pass": DEMO_ADMIN_PASSWORD}}))
        return subprocess.run([str(py), "-c", CLIENT, str(lon), str(lat), a.pid], cwd=work).returncode


if __name__ == "__main__":
    sys.exit(main())
