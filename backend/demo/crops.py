"""Crop code list of the demo area.

The codes follow the style of the Dutch BRP crop list but are illustrative only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Crop:
    """One crop code of the declaration list."""

    code: int
    name: str
    group: str
    share: float


CROPS: tuple[Crop, ...] = (
    Crop(233, "Winter wheat", "winter_cereal", 0.17),
    Crop(236, "Winter barley", "winter_cereal", 0.05),
    Crop(259, "Silage maize", "maize", 0.14),
    Crop(265, "Permanent grassland", "grassland", 0.22),
    Crop(266, "Temporary grassland", "grassland", 0.08),
    Crop(2014, "Ware potatoes", "potato", 0.14),
    Crop(256, "Sugar beet", "sugar_beet", 0.12),
    Crop(662, "Fallow land", "fallow", 0.08),
)
GROUPS: tuple[str, ...] = (
    "winter_cereal", "maize", "grassland", "potato", "sugar_beet", "fallow",
)
BY_CODE: dict[int, Crop] = {c.code: c for c in CROPS}


def draw_crops(rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` crop indices (into ``CROPS``) with the crop shares."""
    p = np.array([c.share for c in CROPS])
    return rng.choice(len(CROPS), size=n, p=p / p.sum())


def draw_wrong_crop(rng: np.random.Generator, true_index: int) -> int:
    """Return a crop index of another crop group than ``CROPS[true_index]``."""
    group = CROPS[true_index].group
    others = [i for i, c in enumerate(CROPS) if c.group != group]
    return int(others[int(rng.integers(len(others)))])


def group_index(crop_indices: np.ndarray) -> np.ndarray:
    """Map crop indices to indices into ``GROUPS``."""
    lut = np.array([GROUPS.index(c.group) for c in CROPS])
    return lut[crop_indices]
