"""How uvicorn serves the API, the same for ``cbm serve``, the API tests and the bench.

uvloop and the httptools parser (uvicorn picks them when installed; here it is explicit so that
every server of ours runs the same stack); no uvicorn access log: our middleware writes one
line per request with its id. A protocol that coalesces the head and body writes of a response
into one ``send`` was measured (bench/api.py: 0.66 vs 0.70 ms server CPU per time-series
request, within the noise of a shared machine) and not kept: it reached into uvicorn internals.
"""

from __future__ import annotations

from typing import Any

HTTP_PROTOCOL = "httptools"
# keyword arguments of uvicorn.run / Config (the same as the CLI flags the bench passes)
UVICORN_OPTIONS: dict[str, Any] = {"loop": "uvloop", "http": HTTP_PROTOCOL, "access_log": False}
