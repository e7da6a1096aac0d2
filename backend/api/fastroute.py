"""``LeanRoute``: an ``APIRoute`` that runs simple endpoints without FastAPI's per-request solver.

FastAPI re-inspects every parameter of every dependency on each request (``solve_dependencies``
walks the tree and validates each query parameter on its own); for the hot ``/query`` routes
this cost more CPU than the SQL. A ``LeanRoute`` plans the same dependency tree once, when the
route is built, and per request it

* calls the dependencies in FastAPI's order (sub-dependencies first, each once per request),
* validates each dependant's own query parameters with one pydantic model (built from the very
  ``Query(...)`` declarations, so constraints, aliases, defaults and error messages are the
  same), and raises ``RequestValidationError`` with FastAPI's ``("query", name)`` locations
  once the tree is solved, as FastAPI does,
* returns the ``Response`` the endpoint built.

The route is declared as usual, so OpenAPI is unchanged. Endpoints it cannot run (sync or
generator dependencies, path/header/cookie/body parameters, repeated (list) query parameters,
endpoints returning data instead of a ``Response``) and requests while the app has
``dependency_overrides`` take FastAPI's own handler.
Exceptions propagate to the app's exception handlers as with FastAPI's handler.
"""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError, create_model

log = logging.getLogger(__name__)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class Unsupported(Exception):
    """The dependency tree needs FastAPI's general solver."""


@dataclass(frozen=True)
class _Step:
    """One call of the plan: ``call(**subs, **query fields, request)``."""

    call: Callable[..., Awaitable[Any]]
    subs: tuple[tuple[str, int], ...]  # (argument name, index of the step giving it)
    query: type[BaseModel] | None
    request_arg: str | None


def _is_async(call: Any) -> bool:
    if inspect.isroutine(call):
        return inspect.iscoroutinefunction(call)
    return inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004


def _is_sequence(annotation: Any) -> bool:
    """``list[str]``, ``tuple[int, ...] | None`` ...: FastAPI reads those with ``getlist``."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_sequence(a) for a in get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, (list, tuple, set, frozenset, Sequence))


def _query_model(dependant: Dependant) -> type[BaseModel] | None:
    if not dependant.query_params:
        return None
    if any(_is_sequence(f.field_info.annotation) for f in dependant.query_params):
        raise Unsupported(f"{dependant.call!r} has a repeated (sequence) query parameter")
    fields: dict[str, Any] = {f.name: (f.field_info.annotation, f.field_info) for f in dependant.query_params}
    return create_model(f"Lean_{getattr(dependant.call, '__name__', 'dep')}", **fields)


def plan(dependant: Dependant) -> list[_Step]:
    """The steps (dependencies first, the endpoint last) of a dependency tree.

    Raises:
        Unsupported: something only FastAPI's solver handles.
    """
    steps: list[_Step] = []
    seen: dict[int, int] = {}

    def add(d: Dependant) -> int:
        if d.call is None or not _is_async(d.call) or not d.use_cache:
            raise Unsupported(f"{d.call!r} is not a cached async callable")
        if id(d.call) in seen:
            return seen[id(d.call)]
        if (d.path_params or d.header_params or d.cookie_params or d.body_params or d.websocket_param_name
                or d.response_param_name or d.background_tasks_param_name or d.security_scopes_param_name):
            raise Unsupported(f"{d.call!r} takes parameters other than query parameters and the request")
        subs = tuple((s.name or "", add(s)) for s in d.dependencies)
        request_arg = d.request_param_name or d.http_connection_param_name
        steps.append(_Step(d.call, subs, _query_model(d), request_arg))
        seen[id(d.call)] = len(steps) - 1
        return len(steps) - 1

    add(dependant)
    return steps


async def run(steps: list[_Step], request: Request) -> Any:
    """Run a plan for one request; the endpoint's result (``RequestValidationError`` on bad input)."""
    query = request.query_params
    results: list[Any] = [None] * len(steps)
    ok = [False] * len(steps)
    errors: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        kwargs = {name: results[j] for name, j in step.subs}
        if step.query is not None:  # validated even below a failed dependency: all errors at once
            try:
                kwargs.update(step.query.model_validate(query).__dict__)
            except ValidationError as exc:
                errors += [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
                continue
        if not all(ok[j] for _, j in step.subs):
            continue
        if step.request_arg:
            kwargs[step.request_arg] = request
        results[i], ok[i] = await step.call(**kwargs), True
    if errors:
        raise RequestValidationError(errors)
    return results[-1]


def _returns_response(endpoint: Callable[..., Any]) -> bool:
    try:
        ret = get_type_hints(endpoint).get("return")
    except Exception:  # unresolvable annotations: let FastAPI handle the route
        return False
    return isinstance(ret, type) and issubclass(ret, Response)


class LeanRoute(APIRoute):
    """See the module docstring; use as ``APIRouter(route_class=LeanRoute)``."""

    def get_route_handler(self) -> Handler:
        """The lean handler when the endpoint allows it, else FastAPI's."""
        general = super().get_route_handler()
        try:
            if not _returns_response(self.endpoint):
                raise Unsupported("the endpoint does not return a Response")
            steps = plan(self.dependant)
        except Unsupported as why:
            log.debug("%s: FastAPI handler (%s)", self.path, why)
            return general
        async def handler(request: Request) -> Response:
            if getattr(request.app, "dependency_overrides", None):  # tests: FastAPI applies them
                return await general(request)
            response: Response = await run(steps, request)
            return response

        return handler
