"""Daily crop state of every field: green cover, dry residue, soil roughness, biomass, events.

Each crop group has its own double-logistic growth curve with management events
(ploughing, sowing, harvest, mowing) drawn per field; bare-soil periods are derived
from the resulting cover so that ground truth and imagery can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backend.demo.crops import GROUPS
from backend.demo.params import N_DAYS

T = np.arange(N_DAYS, dtype=np.float64)[None, :]
BARE_COVER = 0.15
DISTURBING = ("mowing", "ploughing", "sowing", "harvest")
LEFT_BARE = 0.06
"""Share of arable fields left bare after the main crop (no catch crop or next crop in time):
the demo's GAEC 6-like soil-cover non-compliance; the others are covered within ~2-3 weeks."""
NOT_MOWN = 0.04
"""Share of meadows never mown (the eco-scheme's "mown at least once" non-compliance)."""
LATE_ONLY = 0.12
"""Share of once-mown meadows whose only cut comes late (August-September)."""
Events = list[list[tuple[int, str]]]


@dataclass
class State:
    """Daily state arrays, shape (n_fields, N_DAYS), and per-field events (day, type)."""

    green: np.ndarray
    dry: np.ndarray
    rough: np.ndarray
    bio: np.ndarray
    events: Events


def _logistic(mid: np.ndarray, rate: float | np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(T - mid[:, None]) / rate))


def _after(day: np.ndarray) -> np.ndarray:
    return day[:, None] <= T


def _decay(day: np.ndarray, tau: float) -> np.ndarray:
    return np.exp(-np.clip(T - day[:, None], 0, None) / tau)


def _u(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.round(rng.uniform(lo, hi, n))


def _events(n: int, *named: tuple[str, np.ndarray]) -> Events:
    """Per-field event lists from named day arrays (days outside the year are dropped)."""
    out: Events = [[] for _ in range(n)]
    for name, days in named:
        for i, d in enumerate(days):
            if 0 <= d < N_DAYS:
                out[i].append((int(d), name))
    return out


def _cover_crop(rng: np.random.Generator, s: State, sow: np.ndarray) -> None:
    """A catch crop or the next crop sown on day ``sow`` (inf: none), covering the soil ~10 days later."""
    a = _after(sow)
    g = rng.uniform(0.35, 0.5, len(sow))[:, None] * _logistic(sow + _u(rng, 11, 14, len(sow)), 3.0)
    s.green = np.where(a, np.maximum(s.green, g), s.green)
    s.bio = np.where(a, np.maximum(s.bio, 0.3 * g), s.bio)


def _plough(s: State, p: np.ndarray, tau: float = 45.0) -> None:
    """Ploughing on day ``p``: all cover gone, rough soil that smooths out."""
    a = _after(p)
    s.green[a], s.dry[a], s.bio[a] = 0.0, 0.0, 0.0
    s.rough = np.where(a, _decay(p, tau), s.rough)


def winter_cereal(rng: np.random.Generator, n: int) -> State:
    """Winter wheat/barley: green from autumn, harvest in July-August, then plough and sow."""
    g0, peak = rng.uniform(0.2, 0.35, n)[:, None], rng.uniform(0.85, 0.97, n)[:, None]
    sen = _u(rng, 168, 185, n)
    h = sen + _u(rng, 22, 32, n)
    p = h + _u(rng, 7, 70, n)
    p[p > 340] = np.inf
    bare = rng.random(n) < LEFT_BARE  # ploughed, the next crop sown only 6-10 weeks later
    sow = p + np.where(bare, _u(rng, 45, 70, n), _u(rng, 2, 8, n))
    sow[sow > 340] = np.inf
    cover = g0 + (peak - g0) * _logistic(_u(rng, 80, 100, n), 9.0)
    green = cover * (1 - _logistic(sen, 6.0))
    s = State(green, cover - green, np.zeros_like(cover), 0.9 * (green + 0.8 * (cover - green)), [])
    a = _after(h)
    stubble = rng.uniform(0.4, 0.6, n)[:, None] + 0 * T
    s.green = np.where(a, 0.1 * np.clip((T - h[:, None]) / 45.0, 0, 1), s.green)
    s.dry, s.bio = np.where(a, stubble, s.dry), np.where(a, 0.1 * stubble, s.bio)
    _plough(s, p)
    _cover_crop(rng, s, sow)
    s.events = _events(n, ("harvest", h), ("ploughing", p), ("sowing", sow))
    return s


def _spring_crop(
    rng: np.random.Generator, n: int, plough: tuple[float, float], sow: tuple[float, float]
) -> tuple[State, np.ndarray, np.ndarray]:
    """Winter cover (catch crop, residue) ploughed in spring; returns (state, p, s)."""
    green = rng.uniform(0.05, 0.3, n)[:, None] * (1 + 0.5 * _logistic(np.full(n, 75.0), 10.0))
    dry = rng.uniform(0.1, 0.25, n)[:, None] + 0 * T
    s = State(green, dry, np.zeros_like(green), 0.3 * green, [])
    p = _u(rng, *plough, n)
    _plough(s, p, 30.0)
    return s, p, p + _u(rng, *sow, n)


def maize(rng: np.random.Generator, n: int) -> State:
    """Silage maize: spring ploughing, sown in May, green late, harvested Sept-Oct."""
    s, p, sow = _spring_crop(rng, n, (95, 120), (5, 20))
    h = _u(rng, 255, 290, n)
    peak = rng.uniform(0.88, 0.97, n)[:, None]
    grown = peak * _logistic(sow + _u(rng, 40, 50, n), 7.0)
    ripe = 0.25 * _logistic(h - 20, 6.0)
    a = _after(sow)
    s.green = np.where(a, grown * (1 - ripe), s.green)
    s.dry = np.where(a, grown * ripe, s.dry)
    s.bio = np.where(a, (s.green + 0.7 * s.dry) * np.clip((T - sow[:, None]) / 110, 0, 1), s.bio)
    a = _after(h)
    s.green, s.dry = np.where(a, 0.02, s.green), np.where(a, 0.12, s.dry)
    s.bio, s.rough = np.where(a, 0.02, s.bio), np.where(a, 0.3, s.rough)
    way = rng.choice(3, size=n, p=[0.5, 0.5 - LEFT_BARE, LEFT_BARE])  # undersown, next crop, left bare
    grass = 0.12 + 0.25 * np.clip((T - h[:, None]) / 25.0, 0, 1)  # grass sown under the maize
    s.green = np.where(a & (way == 0)[:, None], grass, s.green)
    p2 = np.where(way == 1, h + _u(rng, 2, 6, n), np.where(way == 2, h + _u(rng, 10, 45, n), np.inf))
    _plough(s, p2)
    sow2 = np.where(way == 1, p2 + _u(rng, 1, 3, n), np.inf)
    _cover_crop(rng, s, sow2)
    s.events = _events(n, ("ploughing", p), ("sowing", sow), ("harvest", h), ("ploughing", p2),
                       ("sowing", sow2))
    return s


def potato(rng: np.random.Generator, n: int) -> State:
    """Potatoes: planted in ridges in April, haulm killed in August, lifted in September."""
    s, p, sow = _spring_crop(rng, n, (70, 95), (10, 25))
    kill = _u(rng, 215, 245, n)
    h = kill + _u(rng, 14, 35, n)
    a = _after(sow)
    peak = rng.uniform(0.85, 0.95, n)[:, None]
    s.green = np.where(a, peak * _logistic(sow + _u(rng, 40, 50, n), 5.0), s.green)
    s.rough = np.where(a, 0.7, s.rough)
    a = _after(kill)
    k = _decay(kill, 4.0)
    s.dry = np.where(a, s.green * (1 - k) * _decay(kill, 30.0), s.dry)
    s.green = np.where(a, s.green * k, s.green)
    s.bio = 0.7 * (s.green + 0.5 * s.dry)
    a = _after(h)
    s.green, s.dry, s.bio = (np.where(a, 0.0, x) for x in (s.green, s.dry, s.bio))
    s.rough = np.where(a, 0.8 * _decay(h, 60.0), s.rough)
    sow2 = np.where(rng.random(n) < LEFT_BARE, np.inf, h + _u(rng, 3, 10, n))  # winter cereal after
    _cover_crop(rng, s, sow2)
    s.events = _events(n, ("ploughing", p), ("sowing", sow), ("harvest", h), ("sowing", sow2))
    return s


def sugar_beet(rng: np.random.Generator, n: int) -> State:
    """Sugar beet: sown in March-April, canopy closes in June, lifted Sept-November."""
    s, p, sow = _spring_crop(rng, n, (60, 90), (10, 30))
    h = _u(rng, 265, 320, n)
    a = _after(sow)
    peak = rng.uniform(0.88, 0.97, n)[:, None]
    s.green = np.where(a, peak * _logistic(sow + _u(rng, 55, 70, n), 8.0), s.green)
    s.bio = np.where(a, 0.8 * s.green, s.bio)
    a = _after(h)
    s.green, s.dry, s.bio = (np.where(a, v, x) for v, x in ((0.0, s.green), (0.05, s.dry),
                                                            (0.0, s.bio)))
    s.rough = np.where(a, 0.6 * _decay(h, 60.0), s.rough)
    sow2 = np.where((rng.random(n) < LEFT_BARE) | (h >= 300), np.inf, h + _u(rng, 2, 8, n))
    _cover_crop(rng, s, sow2)
    s.events = _events(n, ("ploughing", p), ("sowing", sow), ("harvest", h), ("sowing", sow2))
    return s


def _mow(s: State, rng: np.random.Generator, days: np.ndarray, tau: tuple[float, float]) -> None:
    """Apply mowings (n, k) (inf = none): green cut and regrown, swath drying for days."""
    n = len(days)
    last = np.full((n, N_DAYS), -np.inf)
    for k in range(days.shape[1]):
        last = np.where(days[:, k : k + 1] <= T, days[:, k : k + 1], last)
    since = np.where(np.isfinite(last), T - last, np.inf)
    r0 = rng.uniform(0.3, 0.45, n)[:, None]
    regrow = r0 + (1 - r0) * (1 - np.exp(-since / rng.uniform(*tau, n)[:, None]))
    cut = np.isfinite(since)
    s.green = np.where(cut, s.green * regrow, s.green)
    s.dry = np.where(cut, s.dry + 0.3 * np.exp(-since / 2.5), s.dry)
    s.bio = np.where(cut, s.bio * regrow**2, s.bio)


def grassland(rng: np.random.Generator, n: int) -> State:
    """Meadows: green all year, mown 0-4 times from May, regrowing within 2-4 weeks."""
    w0, peak = rng.uniform(0.5, 0.65, n)[:, None], rng.uniform(0.88, 0.96, n)[:, None]
    green = w0 + (peak - w0) * _logistic(_u(rng, 70, 90, n), 10.0)
    green = green - 0.15 * _logistic(np.full(n, 300.0), 15.0)
    s = State(green, 0.05 + 0 * green, np.zeros_like(green), 0.7 * green, [])
    count = rng.choice(5, size=n, p=[NOT_MOWN, 0.23 - NOT_MOWN, 0.30, 0.32, 0.15])
    first = np.where((count == 1) & (rng.random(n) < LATE_ONLY), _u(rng, 215, 250, n), _u(rng, 125, 150, n))
    days = first[:, None] + np.cumsum(
        np.column_stack([np.zeros(n), rng.uniform(32, 50, (n, 3)).round()]), axis=1
    )
    days[np.arange(4)[None, :] >= count[:, None]] = np.inf
    days[days > 290] = np.inf
    _mow(s, rng, days, (6.0, 10.0))
    s.events = _events(n, *(("mowing", days[:, k]) for k in range(4)))
    return s


def fallow(rng: np.random.Generator, n: int) -> State:
    """Green fallow: sparse weedy cover, half of it mulched once in summer."""
    green = rng.uniform(0.2, 0.35, n)[:, None] + rng.uniform(0.1, 0.25, n)[:, None] * (
        _logistic(np.full(n, 110.0), 15.0) - 0.5 * _logistic(np.full(n, 280.0), 15.0)
    )
    dry = 0.1 + 0.1 * _logistic(np.full(n, 200.0), 20.0)
    s = State(green, dry, np.zeros_like(green), 0.5 * (green + 0.5 * dry), [])
    mulch = np.where(rng.random(n) < 0.5, _u(rng, 180, 240, n), np.inf)
    _mow(s, rng, mulch[:, None], (12.0, 18.0))
    s.events = _events(n, ("mowing", mulch))
    return s


SIMULATORS: dict[str, Callable[[np.random.Generator, int], State]] = {
    "winter_cereal": winter_cereal, "maize": maize, "grassland": grassland,
    "potato": potato, "sugar_beet": sugar_beet, "fallow": fallow,
}


def _bare_events(cover: np.ndarray) -> Events:
    """bare_soil_start / bare_soil_end events from runs of cover below ``BARE_COVER``."""
    bare = cover < BARE_COVER
    step = np.diff(bare.astype(np.int8), axis=1)
    out: Events = []
    for row in step:
        starts, ends = np.flatnonzero(row == 1) + 1, np.flatnonzero(row == -1) + 1
        ev = [(int(d), "bare_soil_start") for d in starts]
        ev += [(int(d), "bare_soil_end") for d in ends]
        out.append(ev)
    return out


def simulate(rng: np.random.Generator, groups: np.ndarray) -> State:
    """Simulate the daily state of every field.

    Args:
        rng: Random generator of the phenology stream.
        groups: Index into ``GROUPS`` of each field's true crop group.

    Returns:
        State with float32 arrays of shape (n_fields, N_DAYS) and sorted events.
    """
    n = len(groups)
    arrays = {k: np.zeros((n, N_DAYS), np.float32) for k in ("green", "dry", "rough", "bio")}
    events: Events = [[] for _ in range(n)]
    for g, name in enumerate(GROUPS):
        idx = np.flatnonzero(groups == g)
        if len(idx) == 0:
            continue
        s = SIMULATORS[name](rng, len(idx))
        s.dry = np.clip(s.dry, 0.0, 1.0)
        s.green = np.clip(np.minimum(s.green, 1.0 - s.dry), 0.0, 1.0)
        for k in arrays:
            arrays[k][idx] = np.clip(getattr(s, k), 0.0, 1.0)
        for i, ev in zip(idx, s.events, strict=True):
            events[i] = ev
    bare = _bare_events(arrays["green"] + arrays["dry"])
    events = [sorted(e + b) for e, b in zip(events, bare, strict=True)]
    return State(arrays["green"], arrays["dry"], arrays["rough"], arrays["bio"], events)


def disturbed(state: State) -> np.ndarray:
    """Boolean (n_fields, N_DAYS): a surface-changing event happened on that day."""
    out = np.zeros(state.green.shape, bool)
    for i, ev in enumerate(state.events):
        for d, kind in ev:
            if kind in DISTURBING:
                out[i, d] = True
    return out


def weather(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Daily (rain, soil moisture 0..1) for the area, wetter in winter."""
    doy = np.arange(N_DAYS)
    p_rain = 0.35 + 0.12 * np.cos(2 * np.pi * (doy - 15) / N_DAYS)
    rain = rng.random(N_DAYS) < p_rain
    moist = np.zeros(N_DAYS)
    m = 0.6
    for d in range(N_DAYS):
        m = min(1.0, m * 0.9 + (0.35 if rain[d] else 0.0))
        moist[d] = m
    return rain, moist
