"""The unmodified JRC ``cbm`` 0.0.18 client (its own virtualenv, from PyPI) against the test API.

``scripts/jrc_client_check.run_client`` runs every public client call and the client's own
plotting helpers (``scripts/jrc_client_calls.py``) in a subprocess; this test serves the tiny
area with the synthetic orthophoto as background source ``ortho`` and requires every call to
work. The first run creates the client's virtualenv (``/tmp/cbm-jrc-venv``, about a minute);
the figures are kept under the test's temporary directory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apitools import PASSWORDS, Server, lonlat
from jrcworld import jrc_api

from backend.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from jrc_client_check import run_client

CALLS = ("get_options + GUI refresh", "parcel_info.by_location", "parcel_info.by_pid",
         "parcel_info.by_polygon", "parcels_list.peers", "time_series.by_pid s2", "time_series.by_pid bs",
         "time_series.by_pid c6", "chip_images.by_location B04", "chip_images.by_pid B08",
         "chip_images.by_location over the size limit",
         "background.by_location", "background.by_pid", "background.by_location unconfigured tms",
         "show.parcel_info.by_pid", "show.time_series.s2", "show.time_series.s1 c6",
         "show.chip_images.by_pid NDVI", "show.chip_images.by_location B04", "show.background.by_location",
         "show.background.by_pid")


@pytest.fixture(scope="module")
def jrc(api_settings: Settings) -> Iterator[Server]:
    with jrc_api(api_settings) as server:
        yield server


def test_every_public_client_call_works(jrc: Server, tmp_path: Path) -> None:
    lon, lat = lonlat("A")
    d = 0.0002
    ring = [(lon - d, lat - d), (lon + d, lat - d), (lon + d, lat + d), (lon - d, lat + d),
            (lon - d, lat - d)]
    params = {"aoi": "tt", "year": 2025, "pid": "A", "lon": round(lon, 6), "lat": round(lat, 6),
              "tms": "ortho", "start": "2025-06-01", "end": "2025-06-30",
              "polygon": "-".join(f"{x:.6f}_{y:.6f}" for x, y in ring)}
    done = run_client(jrc.url, "analyst", PASSWORDS["analyst"], params, figures=tmp_path / "figures")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.rstrip().endswith("JRC client check: OK"), done.stdout
    for call in CALLS:
        assert f"ok  {call}" in done.stdout, call
    assert "id_examples_2025 = ['A', 'B', 'C', 'D'], the panel's parcel id: A" in done.stdout
    assert "'pids': ['B'" in done.stdout  # peers: B touches A, same crop
    assert len(list((tmp_path / "figures").glob("*.png"))) >= 10
