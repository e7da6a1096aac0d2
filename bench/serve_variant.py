"""The API served four ways, for ``bench/api.py --serving``: our fast path against stock serving.

    python bench/serve_variant.py --port 8123 --workers 2 --routing stock --supervisor uvicorn

``--routing lean`` keeps ``backend.api.fastroute.LeanRoute`` on the ``/query`` routes (as ``cbm
serve``); ``stock`` gives them FastAPI's own request handler (the route class's handler is
swapped before the app is built, in every worker: the routes, dependencies and answers are the
same, see ``tests/api/test_fastroute.py``). ``--supervisor cbm`` hands connections to the least
busy worker (``backend.api.serving.serve_workers``, as ``cbm serve --workers N``); ``uvicorn`` is
uvicorn's own ``--workers`` supervisor (one shared listening socket). Settings from ``CBM_*``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
ROUTING_ENV = "CBM_BENCH_ROUTING"  # read by the factory in each (spawned) worker


def app_factory() -> Any:
    """The app of ``cbm serve``, with FastAPI's own handler on the ``/query`` routes if asked."""
    if os.environ.get(ROUTING_ENV) == "stock":
        from fastapi.routing import APIRoute

        from backend.api.fastroute import LeanRoute

        LeanRoute.get_route_handler = APIRoute.get_route_handler  # type: ignore[method-assign]
    from backend.api.app import app_from_env

    return app_from_env()


def main() -> None:
    import uvicorn

    from backend.api.serving import UVICORN_OPTIONS, serve_workers
    from backend.logging_setup import server_log_config

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--routing", choices=["lean", "stock"], default="lean")
    ap.add_argument("--supervisor", choices=["cbm", "uvicorn"], default="cbm")
    a = ap.parse_args()
    os.environ[ROUTING_ENV] = a.routing  # inherited by the workers
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    config = uvicorn.Config("serve_variant:app_factory", factory=True, host="127.0.0.1", port=a.port,
                            workers=a.workers, log_config=server_log_config([]), proxy_headers=False,
                            **UVICORN_OPTIONS)
    if a.supervisor == "cbm" and a.workers > 1:
        serve_workers(config)
    elif a.workers > 1:  # uvicorn's own supervisor, as `uvicorn --workers N`
        uvicorn.run(config.app, factory=True, host=config.host, port=config.port, workers=a.workers,
                    log_config=config.log_config, proxy_headers=False, **UVICORN_OPTIONS)
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
