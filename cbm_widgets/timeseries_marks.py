"""bqplot marks of the time-series chart: one series, event spans, the selected-date rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import bqplot as bq
import numpy as np
import pandas as pd

from cbm_widgets import series as ts

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
    """Start and end of a marker event or of a decision's window (from its evidence)."""
    if event.get("marker") != "window":
        return event.get("start_date"), event.get("end_date") or event.get("start_date")
    evidence = event.get("evidence") or {}
    window = evidence.get("window") or [evidence.get("window_start"), evidence.get("window_end")]
    return (window[0], window[1]) if isinstance(window, list | tuple) and len(window) == 2 else (None, None)


def event_spans(events: Sequence[Mapping[str, Any]], x: bq.Scale, y: bq.Scale) -> list[bq.Mark]:
    """Shaded spans for marker events and decision windows (full chart height)."""
    marks: list[bq.Mark] = []
    for event in events:
        start, end = (_day(v) for v in _window(event))
        if start is None or end is None:
            continue
        if end <= start:
            end = start + np.timedelta64(1, "D")
        kind = str(event.get("marker", "event"))
        colour = EVENT_COLOURS.get(kind, "#7e57c2")
        label = f"{kind} {str(start)[:10]} – {str(end)[:10]}"
        if kind == "window":
            label = f"{event.get('condition', 'decision')}: {event.get('colour', '')} window"
        marks.append(bq.Lines(x=[start, start, end, end], y=[0, 1, 1, 0], scales={"x": x, "y": y},
                              fill="inside", fill_colors=[colour], fill_opacities=[0.12], colors=[colour],
                              opacities=[0.4], stroke_width=1, tooltip=bq.Tooltip(fields=[], labels=[]),
                              labels=[label]))
    return marks


def rule_marks(x: bq.Scale, y: bq.Scale) -> bq.Lines:
    """The vertical rule of the selected date (hidden until a date is selected)."""
    return bq.Lines(x=[np.datetime64("1970-01-01"), np.datetime64("1970-01-01")], y=[0, 1],
                    scales={"x": x, "y": y}, colors=["#d81b60"], stroke_width=2, line_style="dashed",
                    visible=False)
