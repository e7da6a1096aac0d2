"""Injection attempts in every string parameter of every route (from the OpenAPI schema): SQL,
path traversal, CR/LF header injection, NUL bytes, scripts, oversized values. Each answer is a
client error or a harmless empty result, never a 5xx; nothing leaks (files, hashes, SQL,
tracebacks); no header is injected; security headers are on every response; the tables are intact.
"""

from __future__ import annotations

import urllib.parse

import httpx
from apitools import PASSWORDS, Server, lonlat
from relscene import record

from backend.api.app import create_app
from backend.db import connect
from backend.settings import load_settings

LON, LAT = lonlat("A")
BASE = {"aoi": "tt", "year": "2025", "pid": "A", "lon": LON, "lat": LAT, "start_date": "2025-06-01",
        "end_date": "2025-06-30", "chipsize": 32, "band": "B04", "z": 16, "x": 33000, "y": 21000,
        "run_id": "run-tt", "token": "x" * 40, "name": "chip.png", "extend": 100,
        "polygon": f"{LON} {LAT}, {LON + 1e-4} {LAT}, {LON} {LAT + 1e-4}"}
PAYLOADS = ["' OR '1'='1", "1; DROP TABLE users;--", "tt' UNION SELECT password_hash FROM users--",
            "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "a\r\nX-Injected: 1", "a\x00b",
            "<script>alert(1)</script>", "${jndi:ldap://127.0.0.1/x}", "A" * 5000]
LEAKS = ("root:x:0:0", "$argon2", "password_hash", "Traceback", "psycopg", "syntax error")
SECURITY = ("x-content-type-options", "x-frame-options", "referrer-policy", "cache-control")


def string_params() -> list[tuple[str, str, str, str]]:
    """(method, path, name, where) of every string parameter in the OpenAPI schema."""
    spec = create_app(load_settings(demo_mode=True)).openapi()
    found = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                sch = p.get("schema", {})
                types = {sch.get("type")} | {a.get("type") for a in sch.get("anyOf", [])}
                if "string" in types:
                    found.append((method.upper(), path, p["name"], p["in"]))
    return found


def _request(c: httpx.Client, method: str, path: str, name: str, where: str, payload: str) -> httpx.Response:
    params = {k: v for k, v in BASE.items() if "{" + k + "}" not in path}
    url = path
    for k in BASE:
        value = payload if (k == name and where == "path") else str(BASE[k])
        url = url.replace("{" + k + "}", urllib.parse.quote(value, safe=""))
    if where == "query":
        params[name] = payload
    return c.request(method, url, params=params)


def _problems(r: httpx.Response, payload: str = "") -> list[str]:
    """What is wrong with an answer; the payload echoed back in a JSON error is not a leak."""
    out = [f"{r.status_code}"] if r.status_code >= 500 else []
    text = r.text.replace(payload, "") if payload else r.text
    out += [f"leak {w!r}" for w in LEAKS if w.lower() in text.lower()]
    out += ["html echo"] if "<script>" in r.text and "json" not in r.headers.get("content-type", "") else []
    out += ["header injected"] if "x-injected" in r.headers else []
    out += [f"missing {h}" for h in SECURITY if h not in r.headers]
    return out


def test_injection_in_every_string_parameter(rel_api: Server) -> None:
    params = string_params()
    assert len(params) >= 20, params
    with connect(rel_api.settings) as conn:
        users_before = conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"]
    bad, statuses = [], {}
    with httpx.Client(base_url=rel_api.url, auth=("admin", PASSWORDS["admin"]), timeout=60) as c:
        for method, path, name, where in params:
            for payload in PAYLOADS:
                try:
                    r = _request(c, method, path, name, where, payload)
                except httpx.TransportError as exc:  # the server dropped the connection
                    bad.append((method, path, name, payload[:30], [type(exc).__name__]))
                    continue
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if problems := _problems(r, payload):
                    bad.append((method, path, name, payload[:30], problems))
    with connect(rel_api.settings) as conn:
        users_after = conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"]
    n = sum(statuses.values())
    record("injection", requests=n, statuses=statuses, problems=len(bad),
           server_errors=sum(v for k, v in statuses.items() if k >= 500))
    assert not bad, bad[:20]
    assert users_after == users_before


def test_traversal_in_signed_chip_file_names(rel_api: Server) -> None:
    with httpx.Client(base_url=rel_api.url, auth=("consumer", PASSWORDS["consumer"]), timeout=60) as c:
        r = c.get("/query/chipsByLocation", params={"lon": LON, "lat": LAT, "start_date": "2025-06-01",
                                                     "end_date": "2025-06-30", "chipsize": 32})
    assert r.status_code == 200, r.text
    url = r.json()[0]["url"]
    token = url.split("/")[2]
    with httpx.Client(base_url=rel_api.url, timeout=60) as anon:
        good = anon.get(url)
        tries = [anon.get(f"/files/{token}/{urllib.parse.quote(n, safe='')}")
                 for n in ("../../../../etc/passwd", "a\r\nX-Injected: 1.png", "..\\..\\x.png")]
        forged = [anon.get(f"/files/{t}/chip.png") for t in
                  (token[:-2] + "AA", "../" + token, urllib.parse.quote("../../etc/passwd", safe=""))]
    assert good.status_code == 200 and good.content[:4] == b"\x89PNG"
    for r in tries:  # the name is only the download name: the same file (or no route), never another
        assert (r.status_code == 200 and r.content == good.content) or r.status_code == 404, r.status_code
        assert not _problems(r) and "\r" not in r.headers.get("content-disposition", "")
    assert all(r.status_code in (403, 404) and not _problems(r) for r in forged), [r.status_code
                                                                                for r in forged]
