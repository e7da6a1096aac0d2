"""Sampling design of the annual quality assessment: sizes, strata, allocation and the draw.

The sampling unit is one decision (parcel x condition) of the set's latest marker run, and each
condition is its own population (frame). Per condition the design is

* simple random sampling without replacement (no ``strata``), or
* stratified random sampling by decision colour and/or crop group, with a **proportional**
  allocation (``n_h`` proportional to the stratum size ``N_h``) or a **Neyman-like** one
  (``n_h`` proportional to ``N_h * S_h`` with ``S_h = sqrt(p_h (1 - p_h))`` from the anticipated
  error rate ``p_h`` of the stratum's colour, :data:`ANTICIPATED`; needs colour among the strata).
  Every stratum gets at least ``min(2, N_h)`` units when the size allows, so that its variance
  can be estimated; the rest follows the allocation by largest remainders.

A unit's inclusion probability is ``n_h / N_h``. The size is either given (``size``, per
condition) or derived from a precision ``d`` (half-width of the interval) at a confidence level:
``n0 = z^2 p (1 - p) / d^2`` with ``p`` the expected rate (0.5, the safest, by default), then the
finite population correction ``n = n0 / (1 + (n0 - 1) / N)``. A design is reproducible: the frame
is read in a fixed order and the draw is one numpy ``PCG64`` stream from the recorded seed,
strata visited in sorted order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from backend.errors import InvalidInput

STRATA = ("colour", "crop_group")
ALLOCATIONS = ("proportional", "neyman")
ANTICIPATED = {"green": 0.05, "yellow": 0.5, "red": 0.2}


@dataclass(frozen=True)
class SampleSpec:
    """What to sample: conditions, size or precision, strata, allocation and seed."""

    conditions: tuple[str, ...]
    size: int | None = None
    precision: float | None = None
    confidence: float = 0.95
    expected_rate: float = 0.5
    strata: tuple[str, ...] = ()
    allocation: str = "proportional"
    seed: int | None = None

    def __post_init__(self) -> None:
        """Refuse an ambiguous or impossible specification with a message saying how to fix it."""
        if not self.conditions:
            raise InvalidInput("name at least one condition (--condition ID)")
        if (self.size is None) == (self.precision is None):
            raise InvalidInput("give either a sample size (--size N) or a precision (--precision 0.02), "
                               "not both and not neither")
        if self.size is not None and self.size < 1:
            raise InvalidInput(f"sample size must be at least 1, not {self.size}")
        if self.precision is not None and not 0 < self.precision < 0.5:
            raise InvalidInput(f"precision is a half-width in (0, 0.5), e.g. 0.02, not {self.precision}")
        if not 0.5 <= self.confidence < 1:
            raise InvalidInput(f"confidence must be in [0.5, 1), e.g. 0.95, not {self.confidence}")
        if not 0 < self.expected_rate < 1:
            raise InvalidInput(f"expected rate must be in (0, 1), not {self.expected_rate}")
        self._check_strata()

    def _check_strata(self) -> None:
        bad = [s for s in self.strata if s not in STRATA]
        if bad or len(set(self.strata)) != len(self.strata):
            raise InvalidInput(f"strata must be among {', '.join(STRATA)} (each once), "
                               f"not {','.join(self.strata)}")
        if self.allocation not in ALLOCATIONS:
            raise InvalidInput(f"allocation must be one of {', '.join(ALLOCATIONS)}, not {self.allocation!r}")
        if self.allocation == "neyman" and "colour" not in self.strata:
            raise InvalidInput("the Neyman-like allocation uses anticipated error rates per colour: "
                               "stratify by colour (--strata colour or colour,crop_group)")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise InvalidInput(f"seed must be a non-negative integer below 2^63, not {self.seed}")


def size_for_precision(precision: float, confidence: float, population: int,
                       expected_rate: float = 0.5) -> int:
    """Sample size giving an interval half-width ``precision`` for a proportion (SRS, with fpc)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n0 = z * z * expected_rate * (1 - expected_rate) / (precision * precision)
    return math.ceil(n0 / (1 + (n0 - 1) / population))


def allocate(n: int, sizes: Sequence[int], weights: Sequence[float]) -> list[int]:
    """Split ``n`` units over strata of ``sizes``: at least ``min(2, N_h)`` each, then by ``weights``.

    Raises:
        InvalidInput: ``n`` exceeds the total size.
    """
    cap = np.asarray(sizes, dtype=np.int64)
    w = np.asarray(weights, dtype=float)
    if n > cap.sum():
        raise InvalidInput(f"sample size {n} is larger than the population ({int(cap.sum())})")
    base = np.minimum(cap, 2)
    alloc = base.copy() if n >= base.sum() else np.zeros_like(cap)
    ideal_total = w / w.sum() * n if w.sum() > 0 else cap / cap.sum() * n
    while (remaining := n - int(alloc.sum())) > 0:
        room = cap - alloc
        want = np.where(room > 0, np.maximum(ideal_total - alloc, 0.0), 0.0)
        if want.sum() <= 0:
            want = room.astype(float)
        share = want / want.sum() * remaining
        take = np.minimum(np.floor(share).astype(np.int64), room)
        if take.sum() == 0:
            frac = np.where(room > 0, share - np.floor(share), -1.0)
            take[int(np.argmax(frac))] = 1
        alloc += take
    return [int(a) for a in alloc]


def stratum_labels(colours: Sequence[str] | np.ndarray, groups: Sequence[str] | np.ndarray,
                   strata: tuple[str, ...]) -> np.ndarray:
    """The stratum of each decision: ``colour``, ``crop_group`` or ``colour|crop_group`` ('all' for SRS)."""
    if not strata:
        return np.full(len(colours), "all", dtype=object)
    cols = {"colour": np.asarray(colours, dtype=object), "crop_group": np.asarray(groups, dtype=object)}
    out = cols[strata[0]]
    for s in strata[1:]:
        out = out + "|" + cols[s]
    return np.asarray(out, dtype=object)


def _weights(spec: SampleSpec, names: list[str], sizes: list[int]) -> list[float]:
    if spec.allocation == "proportional":
        return [float(s) for s in sizes]
    pos = spec.strata.index("colour")
    out = []
    for name, size in zip(names, sizes, strict=True):
        p = ANTICIPATED[name.split("|")[pos]]
        out.append(size * math.sqrt(p * (1 - p)))
    return out


def condition_size(spec: SampleSpec, condition: str, population: int) -> int:
    """The sample size of one condition's frame.

    Raises:
        InvalidInput: the size exceeds the population, or the precision needs a census.
    """
    if spec.size is not None:
        if spec.size > population:
            raise InvalidInput(f"sample size {spec.size} is larger than the {population} decisions of "
                               f"condition {condition!r}: ask for at most {population}")
        return spec.size
    assert spec.precision is not None
    n = size_for_precision(spec.precision, spec.confidence, population, spec.expected_rate)
    if n >= population:
        raise InvalidInput(f"precision {spec.precision} at confidence {spec.confidence} cannot be met by a "
                           f"sample of condition {condition!r}: it needs {n} of its {population} decisions "
                           "(a census); ask for a wider precision or give --size")
    return n


def draw(rng: np.random.Generator, labels: Sequence[str] | np.ndarray, n: int, spec: SampleSpec
         ) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, int]]]:
    """Draw ``n`` of the frame rows (``labels`` = their strata) per the spec's allocation.

    Returns:
        Sampled row indices (ascending), their inclusion probabilities, and ``{stratum: {N, n}}``.
    """
    inverse, names = pd.factorize(np.asarray(labels, dtype=object), sort=True)
    counts = np.bincount(inverse, minlength=len(names))
    names_l = [str(s) for s in names]
    sizes = [int(c) for c in counts]
    alloc = allocate(n, sizes, _weights(spec, names_l, sizes))
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    picked, probs = [], []
    for h, n_h in enumerate(alloc):
        rows = order[starts[h]:starts[h + 1]]
        chosen = np.sort(rng.choice(rows.size, size=n_h, replace=False)) if n_h else np.empty(0, np.int64)
        picked.append(rows[chosen])
        probs.append(np.full(n_h, n_h / sizes[h]))
    idx = np.concatenate(picked)
    prob = np.concatenate(probs)
    keep = np.argsort(idx, kind="stable")
    design = {name: {"N": size, "n": a} for name, size, a in zip(names_l, sizes, alloc, strict=True)}
    return idx[keep], prob[keep], design


def design_record(spec: SampleSpec, seed: int) -> dict[str, Any]:
    """The spec as stored in the sample's design (JSON)."""
    return {"method": "stratified" if spec.strata else "srs", "strata_by": list(spec.strata),
            "allocation": spec.allocation if spec.strata else None,
            "anticipated_error": ANTICIPATED if spec.allocation == "neyman" else None,
            "size": spec.size, "precision": spec.precision, "confidence": spec.confidence,
            "expected_rate": spec.expected_rate, "seed": seed, "rng": "numpy PCG64",
            "unit": "decision (parcel x condition) of the latest marker run"}
