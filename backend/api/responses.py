"""Fast JSON responses for the hot endpoints: ``json.dumps`` straight to bytes.

Returning a dict lets FastAPI validate and re-encode every value (``jsonable_encoder``), which
costs more than the SQL for a time series of a few hundred band rows. The JRC endpoints return
:class:`ColumnsResponse` instead; their shapes are documented by examples in the OpenAPI.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class ColumnsResponse(JSONResponse):
    """Compact JSON of plain Python values (NaN must already be None)."""

    def render(self, content: Any) -> bytes:
        """Encode without whitespace; non-finite floats are refused (never invalid JSON)."""
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=str).encode()
