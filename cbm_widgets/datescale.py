"""``DateScale``: bqplot's date scale that also reads the dates the browser sends back.

bqplot's ``PanZoom`` sets the scale's ``min``/``max`` in the browser, which sends them to the kernel
as JavaScript's ISO 8601 (``2025-04-01T12:00:00.000Z``). bqscales reads only its own format
(``%Y-%m-%dT%H:%M:%S.%f``, no zone), so the update fails in the kernel: the kernel never learns
the zoom, and whatever follows the chart's axis there (the peers chart, the chip strip, the
zoomed date labels) stays on the whole year. This scale reads both forms.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import bqplot as bq
from bqscales.traits import Date, date_to_json


def date_from_json(value: Any, _widget: Any = None) -> dt.datetime | None:
    """A date sent by the browser (ISO 8601, ``Z`` or an offset, or bqscales' own form) as naive UTC."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


class DateScale(bq.DateScale):
    """A ``bqplot.DateScale`` whose ``min``/``max`` follow the browser's pan and zoom in the kernel."""

    min = Date(default_value=None, allow_none=True).tag(sync=True, to_json=date_to_json,
                                                         from_json=date_from_json)
    max = Date(default_value=None, allow_none=True).tag(sync=True, to_json=date_to_json,
                                                         from_json=date_from_json)
