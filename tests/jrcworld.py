"""The test API (``apitools``' tiny area) with an orthophoto background source, for the JRC tests.

The orthophoto is the demo's SYNTHETIC one (``backend.demo.orthophoto``) painted from the tiny
area's parcel file, configured as source ``ortho`` (a local COG, offline).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from apitools import Server, running_api
from gridtools import CRS, X0, Y0

from backend.demo.orthophoto import build_orthophoto
from backend.settings import Settings

BOUNDS = (X0, Y0 - 640, X0 + 640, Y0)  # the 64 x 64 px, 10 m scene of apitools.build_scene
ITEMS = ("S2A_MSIL2A_20250601T103031_R008_T31UFU", "S2A_MSIL2A_20250611T103031_R008_T31UFU")


def orthophoto(api_settings: Settings) -> Path:
    """The synthetic orthophoto of the tiny area (built once per test session)."""
    root = Path(api_settings.var_dir).parent
    out = root / "ortho" / "tt_ortho.tif"
    build_orthophoto(root / "tt.gpkg", out, BOUNDS, CRS, seed=1)
    return out


@contextlib.contextmanager
def jrc_api(api_settings: Settings) -> Iterator[Server]:
    """A second server over the test database whose settings add the ``ortho`` source."""
    sources = {"ortho": str(orthophoto(api_settings))}
    s = Settings(**{**api_settings.model_dump(), "chip_background_sources": sources})
    with running_api(s) as server:
        yield server
