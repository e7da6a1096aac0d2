"""Field states of the harder seasons: grazing, partial cuts, other phenology, ploughing after lifting.

Only used by :mod:`backend.demo.seasons` (opt-in); the default demo never calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.demo.crops import GROUPS
from backend.demo.params import N_DAYS
from backend.demo.phenology import (
    DISTURBING,
    State,
    T,
    _bare_events,
    _decay,
    _logistic,
    _u,
)


@dataclass(frozen=True)
class FieldRules:
    """How the fields of a harder season are managed.

    Attributes:
        grazed_share: Share of grassland fields grazed (slow decline, no regrowth jump).
        grazed_mown_share: Share of the grazed fields that also get one early cut.
        partial_share: Share of mown fields whose cuts take only part of the field.
        first_cut: Range of the first cut day of grassland.
        cut_gap: Range of days between cuts.
        root_plough_share: Share of potato / sugar-beet fields ploughed or disced after lifting.
        cereal_shift: Range of days added to the winter-cereal harvest (other phenology).
    """

    grazed_share: float = 0.35
    grazed_mown_share: float = 0.4
    partial_share: float = 0.3
    first_cut: tuple[float, float] = (110, 160)
    cut_gap: tuple[float, float] = (28, 55)
    root_plough_share: float = 0.5
    cereal_shift: tuple[float, float] = (-10, 6)


def _grass_base(rng: np.random.Generator, n: int) -> np.ndarray:
    w0, peak = rng.uniform(0.45, 0.65, n)[:, None], rng.uniform(0.85, 0.96, n)[:, None]
    green = w0 + (peak - w0) * _logistic(_u(rng, 60, 95, n), 12.0)
    return np.asarray(green - 0.18 * _logistic(np.full(n, 290.0), 18.0))


def _cuts(rng: np.random.Generator, n: int, r: FieldRules) -> np.ndarray:
    count = rng.choice(6, size=n, p=[0.06, 0.14, 0.28, 0.3, 0.16, 0.06])
    gaps = rng.uniform(*r.cut_gap, (n, 4)).round()
    days = _u(rng, *r.first_cut, n)[:, None] + np.cumsum(np.column_stack([np.zeros(n), gaps]), axis=1)
    days[np.arange(5)[None, :] >= count[:, None]] = np.inf
    days[days > 295] = np.inf
    return days


def _mow_partial(green: np.ndarray, days: np.ndarray, frac: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Cuts of share ``frac`` of each field: returns (green, extra dry swath)."""
    n = len(days)
    last = np.full((n, N_DAYS), -np.inf)
    for k in range(days.shape[1]):
        last = np.where(days[:, k : k + 1] <= T, days[:, k : k + 1], last)
    since = np.where(np.isfinite(last), T - last, np.inf)
    r0 = rng.uniform(0.25, 0.45, n)[:, None]
    regrow = r0 + (1 - r0) * (1 - np.exp(-since / rng.uniform(6.0, 12.0, n)[:, None]))
    cut = np.isfinite(since)
    f = frac[:, None]
    out = np.where(cut, green * (1 - f * (1 - regrow)), green)
    return out, np.where(cut, f * 0.3 * np.exp(-since / 2.5), 0.0)


def _graze(green: np.ndarray, rng: np.random.Generator, start: np.ndarray) -> np.ndarray:
    """Slow decline over 3-6 weeks while grazed, a slow recovery after the herd leaves."""
    n = len(start)
    depth = rng.uniform(0.15, 0.3, n)[:, None]
    ramp = rng.uniform(20, 45, n)[:, None]
    stay = _u(rng, 40, 110, n)[:, None]
    s = start[:, None]
    down = np.clip((T - s) / ramp, 0, 1)
    up = np.clip((T - s - stay) / 40.0, 0, 1)
    return np.asarray(green - depth * down * (1 - up))


def grassland_season(rng: np.random.Generator, n: int, r: FieldRules) -> State:
    """Grassland of a harder season: cuts (some partial), grazing for a share of the fields."""
    green = _grass_base(rng, n)
    days = _cuts(rng, n, r)
    grazed = rng.random(n) < r.grazed_share
    keep_one = grazed & (rng.random(n) < r.grazed_mown_share)
    days[grazed, 1:] = np.inf
    days[grazed & ~keep_one, 0] = np.inf
    frac = np.where(rng.random(n) < r.partial_share, rng.uniform(0.35, 0.65, n), 1.0)
    green, swath = _mow_partial(green, days, frac, rng)
    g_start = np.where(keep_one, days[:, 0] + _u(rng, 25, 45, n), _u(rng, 110, 170, n))
    g_start = np.where(grazed, g_start, np.inf)
    green = np.where(grazed[:, None], _graze(green, rng, g_start), green)
    s = State(green, 0.05 + swath, np.zeros_like(green), 0.7 * green**1.5, [])
    named = [("mowing", days[:, k]) for k in range(days.shape[1])] + [("grazing", g_start)]
    s.events = [[] for _ in range(n)]
    for name, dd in named:
        for i, d in enumerate(dd):
            if 0 <= d < N_DAYS:
                s.events[i].append((int(d), name))
    return s


def _resow(state: State, i: int, day: int, rng: np.random.Generator) -> None:
    """The next crop sown on ``day`` on field ``i``, covering the soil ~10 days later."""
    if day >= N_DAYS:
        return
    g = float(rng.uniform(0.35, 0.5)) * _logistic(np.array([day + 12.0]), 3.0)[0]
    state.green[i, day:] = np.maximum(state.green[i, day:], g[day:])
    state.bio[i, day:] = np.maximum(state.bio[i, day:], 0.3 * g[day:])
    state.events[i].append((day, "sowing"))


def _plough_after_lifting(state: State, rows: np.ndarray, rng: np.random.Generator,
                          r: FieldRules) -> None:
    """Plough (or disc: less rough) a share of lifted root-crop fields.

    A field with a next crop sown after the lifting is ploughed first and sown a few days later;
    a field left bare is ploughed 5-40 days after the lifting and stays bare.
    """
    for i in rows:
        harvest = [d for d, k in state.events[i] if k == "harvest"]
        if not harvest or rng.random() >= r.root_plough_share:
            continue
        sown = [d for d, k in state.events[i] if k == "sowing" and d > harvest[0]]
        p = int(harvest[0] + (rng.integers(1, 4) if sown else rng.integers(5, 40)))
        if p >= N_DAYS:
            continue
        depth = 1.0 if rng.random() < 0.6 else 0.5  # ploughing or discing
        state.rough[i, p:] = np.maximum(state.rough[i, p:], depth * _decay(np.array([p]), 45.0)[0, p:])
        state.green[i, p:], state.dry[i, p:], state.bio[i, p:] = 0.0, 0.0, 0.0
        state.events[i] = [(d, k) for d, k in state.events[i] if (k, d) not in {("sowing", x) for x in sown}]
        state.events[i].append((p, "ploughing"))
        if sown:
            _resow(state, i, p + int(rng.integers(1, 5)), rng)


def _shift_cereals(state: State, rows: np.ndarray, rng: np.random.Generator, r: FieldRules) -> None:
    """Move the whole cereal season (senescence, harvest, later events) by a few days."""
    for i in rows:
        k = int(rng.integers(int(r.cereal_shift[0]), int(r.cereal_shift[1]) + 1))
        if k == 0:
            continue
        for a in (state.green, state.dry, state.rough, state.bio):
            a[i] = np.roll(a[i], k) if k > 0 else np.concatenate([a[i, -k:], np.repeat(a[i, -1:], -k)])
            if k > 0:
                a[i, :k] = a[i, k]
        state.events[i] = [(d + k, t) for d, t in state.events[i]
                           if t in DISTURBING and 0 <= d + k < N_DAYS]


def harden_state(state: State, groups: np.ndarray, rng: np.random.Generator, r: FieldRules) -> State:
    """A copy of the demo state with the harder season's management; events and bare periods redone.

    Args:
        state: The default demo's state (not modified).
        groups: Index into ``GROUPS`` of each field's true crop group.
        rng: Random generator of the season (its own stream).
        r: The season's rules.
    """
    s = State(state.green.copy(), state.dry.copy(), state.rough.copy(), state.bio.copy(),
              [[(d, k) for d, k in ev if k in DISTURBING] for ev in state.events])
    grass = np.flatnonzero(groups == GROUPS.index("grassland"))
    g = grassland_season(rng, len(grass), r)
    for k in ("green", "dry", "rough", "bio"):
        getattr(s, k)[grass] = np.clip(getattr(g, k), 0.0, 1.0)
    for i, ev in zip(grass, g.events, strict=True):
        s.events[i] = ev
    _shift_cereals(s, np.flatnonzero(groups == GROUPS.index("winter_cereal")), rng, r)
    roots = np.flatnonzero(np.isin(groups, [GROUPS.index("potato"), GROUPS.index("sugar_beet")]))
    _plough_after_lifting(s, roots, rng, r)
    bare = _bare_events(s.green + s.dry)
    s.events = [sorted(e + b) for e, b in zip(s.events, bare, strict=True)]
    return s
