"""``LeanRoute`` answers as FastAPI's own handler does: one endpoint under both route classes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.testclient import TestClient

from backend.api import errors
from backend.api.fastroute import LeanRoute, Unsupported, plan
from backend.api.responses import ColumnsResponse
from backend.api.routes import query
from backend.errors import AuthError, Forbidden

_basic = HTTPBasic(auto_error=False)
calls: list[str] = []


async def user(credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]) -> str:
    calls.append("user")
    if credentials is None:
        raise AuthError("authentication required")
    return credentials.username


async def granted(name: Annotated[str, Depends(user)],
                  aoi: Annotated[str, Query(pattern=r"^[a-z]{2,8}$")], year: Annotated[int, Query(ge=1990)],
                  ptype: Annotated[str, Query(max_length=4)] = "") -> tuple[str, int, str]:
    if aoi == "secret" and name != "admin":
        raise Forbidden(f"no access to AOI {aoi!r}")
    return aoi, year, ptype


Positive = Annotated[float, Query(gt=0, allow_inf_nan=False)]
Flag = Annotated[str | None, Query(alias="withGeometry", max_length=8)]


async def endpoint(request: Request, key: Annotated[tuple[str, int, str], Depends(granted)],
                   name: Annotated[str, Depends(user)], pid: Annotated[str, Query(min_length=1)],
                   tstype: Literal["s2", "bs"] = "s2", n: Positive = 1.0,
                   flag: Flag = None) -> ColumnsResponse:
    return ColumnsResponse({"key": list(key), "user": [name], "pid": [pid], "tstype": [tstype], "n": [n],
                            "flag": [flag], "path": [request.url.path]})


def _client() -> TestClient:
    app = FastAPI()
    errors.register(app)
    for prefix, cls in (("/lean", LeanRoute), ("/fastapi", None)):
        router = APIRouter(prefix=prefix, route_class=cls) if cls else APIRouter(prefix=prefix)
        router.add_api_route("/q", endpoint, methods=["GET"])
        app.include_router(router)
    return TestClient(app)


QUERIES = [
    "aoi=tt&year=2025&pid=A",
    "aoi=tt&year=2025&pid=A&tstype=bs&n=2.5&withGeometry=True&ptype=x",
    "aoi=tt&year=2025&pid=A&pid=B&year=2024",  # repeated keys: the last wins
    "aoi=tt&year=2025&pid=A&unknown=1",
    "aoi=tt&year=2025",  # missing pid
    "aoi=T!&year=abc&pid=",  # several errors at once
    "aoi=tt&year=1800&pid=A&tstype=c6&n=nan&withGeometry=waytoolongvalue",
    "year=2025&pid=A",
    "aoi=secret&year=2025&pid=A",  # 403 from a dependency
    "aoi=secret&year=2025&pid=",  # 403 before the endpoint's own 422
    "aoi=tt&year=2025&pid=%00",
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("auth", [("alice", "pw"), ("admin", "pw"), None])
def test_lean_route_answers_like_fastapi(query: str, auth: tuple[str, str] | None) -> None:
    client = _client()
    lean = client.get(f"/lean/q?{query}", auth=auth)
    fast = client.get(f"/fastapi/q?{query}", auth=auth)
    assert lean.status_code == fast.status_code
    assert lean.headers.get("www-authenticate") == fast.headers.get("www-authenticate")
    body = lean.json()
    if lean.status_code == 200:
        assert body.pop("path") == ["/lean/q"] and fast.json().pop("path") == ["/fastapi/q"]
    else:
        assert body == fast.json()


def test_dependency_used_twice_runs_once_per_request() -> None:
    client = _client()
    calls.clear()
    assert client.get("/lean/q?aoi=tt&year=2025&pid=A", auth=("a", "b")).status_code == 200
    assert calls == ["user"]


def test_hot_query_routes_are_lean() -> None:
    routes = {r.path: r for r in query.router.routes if isinstance(r, LeanRoute)}
    for path in ("/query/parcelTimeSeries", "/query/parcelByLocation", "/query/parcelByID"):
        assert plan(routes[path].dependant)[-1].call is routes[path].endpoint


def sync_dep() -> int:
    return 1


async def with_sync_dep(x: Annotated[int, Depends(sync_dep)]) -> dict[str, int]:
    return {"x": x}


async def with_list(band: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
    return {"band": band}


def test_unsupported_endpoints_keep_fastapi_handler() -> None:
    app = FastAPI()
    router = APIRouter(route_class=LeanRoute)
    router.add_api_route("/sync", with_sync_dep, methods=["GET"])
    router.add_api_route("/list", with_list, methods=["GET"])
    app.include_router(router)
    for path in ("/sync", "/list"):
        route = next(r for r in router.routes if getattr(r, "path", "") == path)
        with pytest.raises(Unsupported):
            plan(route.dependant)  # type: ignore[attr-defined]
    client = TestClient(app)
    assert client.get("/sync").json() == {"x": 1}
    assert client.get("/list?band=B02&band=B03").json() == {"band": ["B02", "B03"]}


async def fake_user() -> str:
    return "override"


def test_dependency_overrides_are_honoured() -> None:
    client = _client()
    client.app.dependency_overrides[user] = fake_user  # type: ignore[attr-defined]
    assert client.get("/lean/q?aoi=tt&year=2025&pid=A").json()["user"] == ["override"]
