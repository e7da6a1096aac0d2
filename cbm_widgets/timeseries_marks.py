"""bqplot marks of the time-series chart: one series, event spans, the selected-date rule.

Each function takes an optional :class:`MarkPool`: the chart passes its own, so that a new
parcel changes the values of the marks it already has instead of creating new ones (every new
mark and tooltip is a new widget for the browser to build, and the old ones stayed alive).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import bqplot as bq
import numpy as np
import pandas as pd

from cbm_widgets import series as ts
from cbm_widgets.plain import condition_name, short_date, window_of, window_text

CLOUDY = "#9e9e9e"
CLOUD_ROW = -0.15  # y of the cloud-masked observations row (index axis)
EVENT_COLOURS = {"mowing": "#43a047", "ploughing": "#8d6e63", "bare_soil": "#8d6e63", "harvest": "#f9a825",
                 "window": "#1e88e5"}
_TABLE_OF = {"left": "s2", "right": "s1", "coh": "c6"}
M = TypeVar("M", bound=bq.Mark)


class MarkPool:
    """Marks and tooltips kept for reuse: ``take(role, cls, **traits)`` gives the next mark of a role.

    A role (e.g. ``"dots:NDVI"``, ``"span"``) always gets the same traits, so a reused mark is
    set exactly as a new one would be (in one message). Call :meth:`start` before each redraw.
    """

    def __init__(self) -> None:
        self._marks: dict[str, list[bq.Mark]] = {}
        self._used: Counter[str] = Counter()
        self._tooltips: dict[tuple[tuple[str, ...], ...], bq.Tooltip] = {}
        self.created: list[bq.Mark] = []  # marks made since the last start (e.g. to wire clicks once)

    def start(self) -> None:
        """A new drawing: every mark is free again."""
        self._used.clear()
        self.created = []

    def take(self, role: str, cls: type[M], **traits: Any) -> M:
        """The next free mark of ``role`` with these traits (a new one when all are in use)."""
        pool = self._marks.setdefault(role, [])
        index = self._used[role]
        self._used[role] += 1
        if index < len(pool) and type(pool[index]) is cls:
            mark = pool[index]
            with mark.hold_sync():
                for name, value in traits.items():
                    setattr(mark, name, value)
            return mark
        new = cls(**traits)
        pool[index:index + 1] = [new]
        self.created.append(new)
        return new

    def tooltip(self, fields: Sequence[str], formats: Sequence[str], labels: Sequence[str]) -> bq.Tooltip:
        """A tooltip widget, one per distinct content."""
        key = (tuple(fields), tuple(formats), tuple(labels))
        if key not in self._tooltips:
            self._tooltips[key] = bq.Tooltip(fields=list(fields), formats=list(formats), labels=list(labels))
        return self._tooltips[key]


def _pool(pool: MarkPool | None) -> MarkPool:
    return MarkPool() if pool is None else pool


def _tooltip(pool: MarkPool, label: str) -> bq.Tooltip:
    return pool.tooltip(["x", "y"], ["%Y-%m-%d", ".3f"], ["date", label])


def series_marks(name: str, tables: Mapping[str, pd.DataFrame], x: bq.Scale, y: bq.Scale,
                 pool: MarkPool | None = None) -> list[bq.Mark]:
    """A line through clear observations, clickable dots, and hollow grey dots for cloudy ones."""
    pool = _pool(pool)
    label, axis = ts.SERIES[name]
    table = tables.get(_TABLE_OF[axis])
    if table is None or table.empty or name not in table:
        return []
    values = table[name]
    cloudy = table["cloudy"] if "cloudy" in table else pd.Series(False, index=table.index)
    clear = values[~cloudy & values.notna()]
    colour = ts.COLOURS[name]
    scales = {"x": x, "y": y}
    marks: list[bq.Mark] = [
        pool.take(f"line:{name}", bq.Lines, x=clear.index.values, y=clear.values, scales=scales,
                  colors=[colour], labels=[label], display_legend=True, stroke_width=2),
        pool.take(f"dots:{name}", bq.Scatter, x=clear.index.values, y=clear.values, scales=scales,
                  colors=[colour], default_size=28, tooltip=_tooltip(pool, label), names_unique=False,
                  enable_hover=True, hovered_style={"stroke": "black"}),
    ]
    masked = values[cloudy & values.notna()]
    if len(masked):
        marks.append(pool.take(f"masked:{name}", bq.Scatter, x=masked.index.values, y=masked.values,
                               scales=scales, colors=[CLOUDY], fill=False, stroke=CLOUDY, default_size=28,
                               tooltip=_tooltip(pool, f"{label} (cloud-masked)")))
    return marks


def cloud_marks(tables: Mapping[str, pd.DataFrame], x: bq.Scale, y: bq.Scale,
                pool: MarkPool | None = None) -> list[bq.Mark]:
    """Every cloud-masked S2 observation as a grey cross along the bottom of the chart (clickable)."""
    pool = _pool(pool)
    table = tables.get("s2")
    if table is None or table.empty or not table["cloudy"].any():
        return []
    masked = table[table["cloudy"]]
    labels = [f"{v:.0%} clear" for v in masked["valid"]]
    return [pool.take("clouds", bq.Scatter, x=masked.index.values, y=[CLOUD_ROW] * len(masked),
                      scales={"x": x, "y": y}, colors=[CLOUDY], marker="cross", default_size=40, names=labels,
                      display_names=False, labels=["cloud-masked"], display_legend=True,
                      tooltip=pool.tooltip(["x", "name"], ["%Y-%m-%d", ""], ["cloud-masked", "SCL"]))]


def _day(value: Any) -> np.datetime64 | None:
    if not value:
        return None
    return pd.Timestamp(str(value)[:10]).to_datetime64()


def _window(event: Mapping[str, Any]) -> tuple[Any, Any]:
    """Start and end of a marker event or of a decision's window (``evidence.condition.window``)."""
    if event.get("marker") != "window":
        return event.get("start_date"), event.get("end_date") or event.get("start_date")
    return window_of(event) or (None, None)


def event_label(event: Mapping[str, Any]) -> str:
    """What a span shows: ``mowing 3 Jul 2025 (94 %)`` or ``Grassland mown (red): 1 Jun – 15 Aug 2025``."""
    kind = str(event.get("marker", "event"))
    if kind == "window":
        name = condition_name(str(event.get("condition", "decision")))
        return f"{name} ({event.get('colour', '')}): window {window_text(event)}"
    start, end = _window(event)
    when = short_date(start) if not end or end == start else f"{short_date(start)} – {short_date(end)}"
    conf = event.get("confidence")
    sure = f" ({float(conf):.0%})" if isinstance(conf, int | float) else ""
    return f"{kind.replace('_', ' ')} {when}{sure}"


def event_spans(events: Sequence[Mapping[str, Any]], x: bq.Scale, y: bq.Scale,
                pool: MarkPool | None = None) -> list[bq.Mark]:
    """Shaded spans for marker events and decision windows (full chart height), each labelled."""
    pool = _pool(pool)
    marks: list[bq.Mark] = []
    n_windows = 0
    for event in events:
        start, end = (_day(v) for v in _window(event))
        if start is None or end is None:
            continue
        if end <= start:
            end = start + np.timedelta64(1, "D")
        kind = str(event.get("marker", "event"))
        colour = EVENT_COLOURS.get(kind, "#7e57c2")
        label = event_label(event)
        window = kind == "window"
        marks.append(pool.take("span", bq.Lines, x=[start, start, end, end], y=[0, 1, 1, 0],
                               scales={"x": x, "y": y}, fill="inside", fill_colors=[colour],
                               fill_opacities=[0.08 if window else 0.22], colors=[colour], opacities=[0.9],
                               stroke_width=2 if window else 1, line_style="dashed" if window else "solid",
                               tooltip=pool.tooltip(["name"], [], ["event"]), labels=[label]))
        top = 0.97 - 0.06 * n_windows if window else 0.08
        n_windows += window
        marks.append(pool.take("span-label", bq.Label, x=[start], y=[top], scales={"x": x, "y": y},
                               text=[label], colors=[colour], default_size=11, font_weight="bold",
                               align="start", x_offset=3))
    return marks


def rule_marks(x: bq.Scale, y: bq.Scale) -> bq.Lines:
    """The vertical rule of the selected date (hidden until a date is selected)."""
    return bq.Lines(x=[np.datetime64("1970-01-01"), np.datetime64("1970-01-01")], y=[0, 1],
                    scales={"x": x, "y": y}, colors=["#d81b60"], stroke_width=2, line_style="dashed",
                    visible=False)


def date_tick_format(low: Any, high: Any) -> str:
    """Tick labels of a date axis: months over a season, day and month once zoomed in (< ~4 months)."""
    if low is None or high is None:
        return "%b"
    days = (pd.Timestamp(high) - pd.Timestamp(low)).days
    return "%b" if days > 120 else "%d %b"
