"""Fast JSON responses for the hot endpoints: ``orjson`` straight to bytes.

Returning a dict lets FastAPI validate and re-encode every value (``jsonable_encoder``), and the
standard ``json`` module alone costs more than the SQL for a time series of a few hundred band
rows. The JRC endpoints return :class:`ColumnsResponse` instead; their shapes are documented by
examples in the OpenAPI.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

# datetimes, dates and decimals as ``str()`` (as the json module with default=str did); numpy
# arrays and scalars natively (a column can be an array: float32 printed shortest, NaN as null)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_SERIALIZE_NUMPY


class ColumnsResponse(JSONResponse):
    """Compact UTF-8 JSON of plain Python values or numpy arrays; NaN and infinities become ``null``."""

    def render(self, content: Any) -> bytes:
        """Encode without whitespace (never invalid JSON: non-finite floats are written as null)."""
        return orjson.dumps(content, default=str, option=_OPTIONS)
