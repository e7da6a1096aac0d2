"""Synthetic demo area: parcels, Sentinel-2/Sentinel-1 COGs, STAC catalogue, ground truth.

Everything here is SYNTHETIC and generated from a seed; see ``build_demo``.
"""

from backend.demo.build import DemoFile, DemoManifest, build_demo, load_manifest
from backend.demo.params import DemoParams

__all__ = ["DemoFile", "DemoManifest", "DemoParams", "build_demo", "load_manifest"]
