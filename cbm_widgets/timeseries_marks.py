"""bqplot marks of the time-series chart: one series, event spans, the selected-date rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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


def _tooltip(label: str) -> bq.Tooltip:
    return bq.Tooltip(fields=["x", "y"], formats=["%Y-%m-%d", ".3f"], labels=["date", label])


def series_marks(name: str, tables: Mapping[str, pd.DataFrame], x: bq.Scale, y: bq.Scale) -> list[bq.Mark]:
    """A line through clear observations, clickable dots, and hollow grey dots for cloudy ones."""
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
        bq.Lines(x=clear.index.values, y=clear.values, scales=scales, colors=[colour], labels=[label],
                 display_legend=True, stroke_width=2),
        bq.Scatter(x=clear.index.values, y=clear.values, scales=scales, colors=[colour], default_size=28,
                   tooltip=_tooltip(label), names_unique=False, enable_hover=True,
                   hovered_style={"stroke": "black"}),
    ]
    masked = values[cloudy & values.notna()]
    if len(masked):
        marks.append(bq.Scatter(x=masked.index.values, y=masked.values, scales=scales, colors=[CLOUDY],
                                fill=False, stroke=CLOUDY, default_size=28,
                                tooltip=_tooltip(f"{label} (cloud-masked)")))
    return marks


def cloud_marks(tables: Mapping[str, pd.DataFrame], x: bq.Scale, y: bq.Scale) -> list[bq.Mark]:
    """Every cloud-masked S2 observation as a grey cross along the bottom of the chart (clickable)."""
    table = tables.get("s2")
    if table is None or table.empty or not table["cloudy"].any():
        return []
    masked = table[table["cloudy"]]
    labels = [f"{v:.0%} clear" for v in masked["valid"]]
    return [bq.Scatter(x=masked.index.values, y=[CLOUD_ROW] * len(masked), scales={"x": x, "y": y},
                       colors=[CLOUDY], marker="cross", default_size=40, names=labels, display_names=False,
                       labels=["cloud-masked"], display_legend=True,
                       tooltip=bq.Tooltip(fields=["x", "name"], formats=["%Y-%m-%d", ""],
                                          labels=["cloud-masked", "SCL"]))]


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


def event_spans(events: Sequence[Mapping[str, Any]], x: bq.Scale, y: bq.Scale) -> list[bq.Mark]:
    """Shaded spans for marker events and decision windows (full chart height), each labelled."""
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
        marks.append(bq.Lines(x=[start, start, end, end], y=[0, 1, 1, 0], scales={"x": x, "y": y},
                              fill="inside", fill_colors=[colour], fill_opacities=[0.08 if window else 0.22],
                              colors=[colour], opacities=[0.9], stroke_width=2 if window else 1,
                              line_style="dashed" if window else "solid",
                              tooltip=bq.Tooltip(fields=["name"], labels=["event"]), labels=[label]))
        top = 0.97 - 0.06 * n_windows if window else 0.08
        n_windows += window
        marks.append(bq.Label(x=[start], y=[top], scales={"x": x, "y": y}, text=[label], colors=[colour],
                              default_size=11, font_weight="bold", align="start", x_offset=3))
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
