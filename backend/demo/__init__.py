"""Synthetic demo area: parcels, Sentinel-2/Sentinel-1 COGs, STAC catalogue, ground truth.

Everything here is SYNTHETIC and generated from a seed; see ``build_demo``. The names are
imported lazily so that ``import backend.demo.<module>`` (e.g. from the CLI) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.demo.build import DemoFile, DemoManifest, build_demo, load_manifest
    from backend.demo.params import DemoParams

_LAZY = {
    "DemoFile": "backend.demo.build", "DemoManifest": "backend.demo.build",
    "build_demo": "backend.demo.build", "load_manifest": "backend.demo.build",
    "DemoParams": "backend.demo.params",
}
__all__ = ["DemoFile", "DemoManifest", "DemoParams", "build_demo", "load_manifest"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
