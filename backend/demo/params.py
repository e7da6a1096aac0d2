"""Parameters, constants and small shared helpers of the synthetic demo area."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from affine import Affine

# 2: the S1 backscatter collection is sentinel-1-bs (a *-grd collection is refused as Level-1)
# 3: realistic compliance (issue 21 item 11): catch crops / next crops after the harvest, 6 % of
#    arable fields left bare, 4 % of meadows never mown; ground truth says who complies
GENERATOR_VERSION = "3"
"""Bump when the generator changes its output, so old builds are not reused."""

YEAR = 2025
N_DAYS = 365
EPSG = 32631
CRS = f"EPSG:{EPSG}"
MGRS_TILE = "31UFU"
# Upper-left corner: Oostelijk Flevoland (NL), between Lelystad and Dronten,
# aligned to the 60 m grid of Sentinel-2 tile 31UFU (origin 600000, 5900040).
ORIGIN_X = 676320.0
ORIGIN_Y = 5824860.0
RES_10 = 10.0
RES_20 = 20.0
S1_RES = 20.0
MEAN_FIELD_M2 = 21_300.0
"""Landscape area per declared parcel used to derive the default AOI size."""
MAX_S2_DATES = 146
MAX_S1_DATES = 120


@dataclass(frozen=True)
class DemoParams:
    """The parameters of one demo build; together with the version they identify it.

    Attributes:
        seed: Seed of every random stream.
        n_parcels: Number of valid declared parcels (broken rows come on top).
        n_s2_dates: Number of Sentinel-2 acquisitions in the year.
        n_s1_dates: Number of Sentinel-1 acquisitions (backscatter and 6-day coherence).
        size_m: Side of the square AOI in metres, a multiple of 60.
    """

    seed: int = 42
    n_parcels: int = 3000
    n_s2_dates: int = 64
    n_s1_dates: int = 64
    size_m: float = 0.0

    def __post_init__(self) -> None:
        if self.n_parcels < 20:
            raise ValueError("n_parcels must be at least 20")
        if not 1 <= self.n_s2_dates <= MAX_S2_DATES:
            raise ValueError(f"n_s2_dates must be within 1..{MAX_S2_DATES}")
        if not 1 <= self.n_s1_dates <= MAX_S1_DATES:
            raise ValueError(f"n_s1_dates must be within 1..{MAX_S1_DATES}")
        if self.size_m <= 0:
            object.__setattr__(self, "size_m", default_size_m(self.n_parcels))
        size = float(math.ceil(self.size_m / 60.0) * 60)
        object.__setattr__(self, "size_m", size)
        if size < 600 or size > 60_000:
            raise ValueError("size_m must be within 600..60000")

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-ready dict."""
        return asdict(self)


def default_size_m(n_parcels: int) -> float:
    """Return the AOI side that fits ``n_parcels`` of ~2 ha plus roads and gaps."""
    return math.sqrt(n_parcels * MEAN_FIELD_M2)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid over the AOI."""

    res: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        """Affine transform of the grid."""
        return Affine(self.res, 0.0, ORIGIN_X, 0.0, -self.res, ORIGIN_Y)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (self.height, self.width)


def grid(params: DemoParams, res: float) -> Grid:
    """Return the grid of resolution ``res`` covering the AOI of ``params``."""
    n = round(params.size_m / res)
    return Grid(res=res, width=n, height=n)


def aoi_bounds(params: DemoParams) -> tuple[float, float, float, float]:
    """Return (minx, miny, maxx, maxy) of the AOI in the native CRS."""
    return (ORIGIN_X, ORIGIN_Y - params.size_m, ORIGIN_X + params.size_m, ORIGIN_Y)


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """Return an independent random generator for one named stream of the build.

    Args:
        seed: Build seed.
        *stream: Integers naming the stream (e.g. ``STREAM_S2, date_index``).
    """
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


STREAM_PARCELS = 1
STREAM_PHENOLOGY = 2
STREAM_S2 = 3
STREAM_S1 = 4
STREAM_SCENE = 5
STREAM_WEATHER = 6
STREAM_TRUTH = 7
