"""``build_demo``: generate the whole demo area, idempotently and reproducibly."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from backend.demo.params import (
    GENERATOR_VERSION,
    ORIGIN_X,
    ORIGIN_Y,
    S1_RES,
    STREAM_PARCELS,
    DemoParams,
    rng_for,
)
from backend.demo.parcels import make_parcels, to_geodataframe, write_parcels
from backend.demo.s1 import render_s1
from backend.demo.s2 import render_s2
from backend.demo.schedule import Acquisition, s1_calendar, s2_calendar
from backend.demo.stac import write_stac
from backend.demo.truth import ground_truth, write_readme, write_truth
from backend.demo.world import World, make_world
from backend.progress import ProgressLike, progress_bar

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
OUTPUT_DIRS = ("s2", "s1", "coh", "stac")
OUTPUT_FILES = ("parcels.gpkg", "ground_truth.json", "events.csv", "README.md")
T = TypeVar("T")


@dataclass(frozen=True)
class DemoFile:
    """One output file: path relative to the output folder, sha256 and size in bytes."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DemoManifest:
    """What a demo build wrote (the content of ``manifest.json``).

    Attributes:
        out_dir: The output folder.
        params: Build parameters (with the resolved AOI size).
        files: Every output file except the manifest, sorted by path.
        build_seconds: Wall time of the build.
        generator_version: Version of the generator that wrote the files.
    """

    out_dir: Path
    params: DemoParams
    files: tuple[DemoFile, ...]
    build_seconds: float
    generator_version: str = GENERATOR_VERSION

    @property
    def parcels_path(self) -> Path:
        """The parcel GeoPackage."""
        return self.out_dir / "parcels.gpkg"

    @property
    def stac_catalog(self) -> Path:
        """The root ``catalog.json`` of the STAC catalogue."""
        return self.out_dir / "stac" / "catalog.json"

    @property
    def ground_truth_path(self) -> Path:
        """The ground-truth JSON."""
        return self.out_dir / "ground_truth.json"

    @property
    def total_size(self) -> int:
        """Total bytes of the listed files."""
        return sum(f.size for f in self.files)

    def to_json(self) -> dict[str, Any]:
        """Return the manifest document (paths relative to ``out_dir``)."""
        return {
            "synthetic": True,
            "generator": {"package": "backend.demo", "version": self.generator_version},
            "parameters": self.params.to_dict(),
            "build_seconds": round(self.build_seconds, 2),
            "total_size": self.total_size,
            "files": [vars(f) for f in self.files],
        }

    @classmethod
    def from_json(cls, out_dir: Path, doc: dict[str, Any]) -> DemoManifest:
        """Rebuild a manifest from its document."""
        return cls(
            out_dir=out_dir, params=DemoParams(**doc["parameters"]),
            files=tuple(DemoFile(**f) for f in doc["files"]),
            build_seconds=float(doc["build_seconds"]),
            generator_version=str(doc["generator"]["version"]),
        )


def load_manifest(out_dir: Path) -> DemoManifest | None:
    """Return the manifest of ``out_dir`` if there is a readable one."""
    try:
        doc = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        return DemoManifest.from_json(out_dir, doc)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_complete(m: DemoManifest) -> bool:
    """All listed files exist with their recorded size."""
    for f in m.files:
        p = m.out_dir / f.path
        if not p.is_file() or p.stat().st_size != f.size:
            return False
    return True


def _clean(out_dir: Path) -> None:
    """Remove the outputs of a previous build (only the paths this module writes)."""
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for d in OUTPUT_DIRS:
        shutil.rmtree(out_dir / d, ignore_errors=True)
    for f in OUTPUT_FILES:
        (out_dir / f).unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _list_outputs(out_dir: Path) -> tuple[DemoFile, ...]:
    paths = [out_dir / f for f in OUTPUT_FILES]
    for d in OUTPUT_DIRS:
        paths += [p for p in (out_dir / d).rglob("*") if p.is_file()]
    rel = sorted(p.relative_to(out_dir).as_posix() for p in paths)
    return tuple(DemoFile(r, _sha256(out_dir / r), (out_dir / r).stat().st_size) for r in rel)


def _render(
    fn: Callable[[World, int, Acquisition], T],
    world: World,
    calendar: Sequence[Acquisition],
    bar: ProgressLike | None,
) -> list[T]:
    """Render every date of ``calendar`` on two threads (each date has its own RNG)."""
    out: list[T] = []
    workers = max(1, min(2, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for res in pool.map(lambda ia: fn(world, ia[0], ia[1]), enumerate(calendar)):
            out.append(res)
            if bar is not None:
                bar.update(1)
    return out


def _generate(out_dir: Path, params: DemoParams, bar: ProgressLike | None) -> None:
    """Write every output except the manifest."""
    ps = make_parcels(params, rng_for(params.seed, STREAM_PARCELS))
    gdf, broken_fids = to_geodataframe(ps)
    write_parcels(gdf, out_dir / "parcels.gpkg")
    world = make_world(params, out_dir, ps)
    if bar is not None:
        bar.update(1)
    s2 = _render(render_s2, world, s2_calendar(params.n_s2_dates), bar)
    s1 = _render(render_s1, world, s1_calendar(params.n_s1_dates), bar)
    write_stac(out_dir, params, s2, s1)
    write_truth(out_dir, ground_truth(ps, world.state, params, broken_fids))
    write_readme(out_dir, params, (ORIGIN_X, ORIGIN_Y), S1_RES)
    if bar is not None:
        bar.update(1)


def _write_manifest(m: DemoManifest) -> None:
    """Write ``manifest.json`` atomically: its presence marks a complete build."""
    tmp = m.out_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(m.to_json(), indent=1) + "\n", encoding="utf-8")
    tmp.replace(m.out_dir / MANIFEST)


def build_demo(
    out_dir: Path,
    *,
    seed: int = 42,
    n_parcels: int = 3000,
    n_s2_dates: int = 64,
    n_s1_dates: int = 64,
    size_m: float | None = None,
    progress: bool | ProgressLike = False,
) -> DemoManifest:
    """Generate the SYNTHETIC demo area: parcels, S2/S1 COGs, STAC catalogue, ground truth.

    Idempotent (a complete build with the same parameters and generator version is
    returned untouched) and deterministic (same parameters, byte-identical files).

    Args:
        out_dir: Output folder (created if missing).
        seed: Seed of every random choice.
        n_parcels: Number of valid declared parcels (about 14 broken rows come on top).
        n_s2_dates: Sentinel-2 acquisitions in the year (1..146).
        n_s1_dates: Sentinel-1 acquisitions, each with a 6-day coherence image (1..120).
        size_m: Side of the square area in metres (rounded up to 60 m); default ~8 km.
        progress: True for a tqdm bar, or a tqdm-like object to update.

    Returns:
        The manifest of the build.
    """
    out_dir = Path(out_dir)
    params = DemoParams(seed, n_parcels, n_s2_dates, n_s1_dates, size_m or 0.0)
    old = load_manifest(out_dir)
    same = old is not None and old.params == params
    if old and same and old.generator_version == GENERATOR_VERSION and _is_complete(old):
        log.info("demo: %s is up to date", out_dir)
        return old
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    t0 = time.perf_counter()
    with progress_bar(progress, total=n_s2_dates + n_s1_dates + 2, desc="demo", unit="step") as bar:
        _generate(out_dir, params, bar)
    manifest = DemoManifest(out_dir, params, _list_outputs(out_dir), time.perf_counter() - t0)
    _write_manifest(manifest)
    log.info("demo: built %s in %.1f s, %d files, %.1f MB", out_dir, manifest.build_seconds,
             len(manifest.files), manifest.total_size / 1e6)
    return manifest
