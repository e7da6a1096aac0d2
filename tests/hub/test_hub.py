"""JupyterHub integration: login through the form, what each role can and cannot reach.

One real hub for the module (see conftest.py): admin, analyst, consumer and an inactive user
from the project's user store, a real proxy, real single-user servers and the Voilà service.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import time
from pathlib import Path

import pytest
import requests
from hubtools import Hub, login, xsrf_headers
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

REFUSED = {403, 404}
Login = tuple[requests.Session, requests.Response]


def test_wrong_password_refused(hub: Hub) -> None:
    s, r = login(hub, hub.users["consumer"], "not-the-password")
    assert r.status_code == 403
    assert "Invalid username or password" in r.text
    assert s.get(f"{hub.url}/hub/api/user", timeout=10).status_code in {401, 403}


def test_unknown_and_inactive_users_refused(hub: Hub) -> None:
    assert login(hub, hub.users["inactive"])[1].status_code == 403
    assert login(hub, "nobody-at-all", "whatever")[1].status_code == 403


def test_admin_reaches_admin_panel(hub: Hub) -> None:
    s, r = login(hub, hub.users["admin"])
    assert r.status_code == 200, r.text[:300]
    assert s.get(f"{hub.url}/hub/admin", timeout=10).status_code == 200
    me = s.get(f"{hub.url}/hub/api/user", timeout=10).json()
    assert me["admin"] is True and me["groups"] == ["admins"]


def wait_for_lab(s: requests.Session, hub: Hub, name: str, timeout_s: float = 120) -> requests.Response:
    """Poll the analyst's /lab until the server is up (the hub shows spawn-pending until then)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = s.get(f"{hub.url}/user/{name}/lab", timeout=30)
        if r.status_code == 200 and r.url.rstrip("/").endswith(f"/user/{name}/lab"):
            return r
        time.sleep(1)
    pytest.fail(f"no JupyterLab for {name} after {timeout_s} s (last {r.status_code} {r.url}):\n{hub.tail()}")


def test_analyst_gets_jupyterlab_with_notebooks(hub: Hub) -> None:
    name = hub.users["analyst"]
    s, r = login(hub, name)
    assert r.status_code == 200, r.text[:300]
    assert s.get(f"{hub.url}/hub/admin", timeout=10).status_code == 403
    lab = wait_for_lab(s, hub, name)
    assert "JupyterLab" in lab.text
    listing = s.get(f"{hub.url}/user/{name}/api/contents/notebooks", timeout=10)
    assert listing.status_code == 200
    copied = {item["name"] for item in listing.json()["content"]}
    shipped = {p.name for p in (Path(__file__).parents[2] / "notebooks").iterdir()
               if p.name not in {".ipynb_checkpoints", "__pycache__"}}
    assert shipped <= copied
    # Voilà inside the analyst's own server renders the dashboards too, as the analyst.
    page = s.get(f"{hub.url}/user/{name}/voila/render/apps/hello.ipynb", timeout=60)
    assert page.status_code == 200
    assert f"api user: {name} | password set: True" in page.text
    assert "cdn.jsdelivr.net" not in page.text


@pytest.fixture(scope="module")
def consumer(hub: Hub) -> tuple[requests.Session, requests.Response]:
    return login(hub, hub.users["consumer"])


def test_consumer_lands_on_dashboards(hub: Hub, consumer: Login) -> None:
    s, r = consumer
    assert r.status_code == 200, r.text[:300]
    assert r.url == f"{hub.url}/services/dashboards/"
    assert "cdn.jsdelivr.net" not in r.text
    assert "Voil" in r.text  # the page lists apps/ from Voilà's read-only contents API:
    listing = s.get(f"{hub.url}/services/dashboards/voila/api/contents", timeout=10)
    assert listing.status_code == 200
    assert "hello.ipynb" in {item["name"] for item in listing.json()["content"]}


@pytest.mark.parametrize("path", ["lab", "tree", "terminals", "api/kernels", "api/terminals", ""])
def test_consumer_has_no_server(hub: Hub, consumer: Login,
                                path: str) -> None:
    s, _ = consumer
    name = hub.users["consumer"]
    assert s.get(f"{hub.url}/user/{name}/{path}", timeout=10).status_code in REFUSED
    post = s.post(f"{hub.url}/user/{name}/{path}", json={}, headers=xsrf_headers(s), timeout=10)
    assert post.status_code in REFUSED


def test_consumer_cannot_spawn(hub: Hub, consumer: Login) -> None:
    s, _ = consumer
    name = hub.users["consumer"]
    assert s.get(f"{hub.url}/hub/spawn", timeout=10).status_code in REFUSED
    r = s.post(f"{hub.url}/hub/api/users/{name}/server", headers=xsrf_headers(s), timeout=10)
    assert r.status_code in REFUSED
    assert s.get(f"{hub.url}/hub/admin", timeout=10).status_code in REFUSED


@pytest.mark.parametrize("path", ["lab", "tree", "terminals", "api/kernels", "api/terminals", "api/contents"])
def test_dashboards_service_has_no_code_routes(hub: Hub, consumer: Login,
                                               path: str) -> None:
    s, _ = consumer
    base = f"{hub.url}/services/dashboards"
    assert s.get(f"{base}/{path}", timeout=10).status_code in REFUSED | {405}
    post = s.post(f"{base}/{path}", json={"name": "python3"}, timeout=10,
                  headers=xsrf_headers(s, "/services/dashboards/"))
    assert post.status_code in REFUSED | {405}


async def _try_execute(ws_url: str, cookies: str, marker: Path) -> dict:
    """Send kernel_info (must answer) and execute (must be dropped) on a dashboard kernel."""
    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Cookie": cookies}))
    replies = {}
    for msg_type, content in [("execute_request", {"code": f"open({str(marker)!r}, 'w').write('x')",
                                                   "silent": False, "store_history": False,
                                                   "user_expressions": {}, "allow_stdin": False}),
                              ("kernel_info_request", {})]:
        msg_id = f"test-{msg_type}"
        conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "username": "x", "session": "test",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}))
    deadline = time.monotonic() + 15
    while "kernel_info_reply" not in replies and time.monotonic() < deadline:
        raw = await asyncio.wait_for(conn.read_message(), 15)
        if isinstance(raw, str):
            msg = json.loads(raw)
            replies[msg["header"]["msg_type"]] = msg
    conn.close()
    return replies


def test_consumer_dashboard_runs_but_refuses_code(hub: Hub, consumer: Login) -> None:
    s, _ = consumer
    name = hub.users["consumer"]
    page = s.get(f"{hub.url}/services/dashboards/voila/render/hello.ipynb", timeout=60)
    assert page.status_code == 200
    assert f"api user: {name} | password set: True | hub token visible: False" in page.text
    assert "cdn.jsdelivr.net" not in page.text
    static = "voila/templates/cbm-offline/static/fontawesome/css/all.min.css"
    fa = s.get(f"{hub.url}/services/dashboards/{static}", timeout=10)
    assert fa.status_code == 200 and "Font Awesome" in fa.text
    kernel_id = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', page.text).group(1)
    marker = writable_dir(hub) / "executed"
    ws = f"ws://{hub.url.removeprefix('http://')}/services/dashboards/api/kernels/{kernel_id}/channels"
    cookies = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    # in a thread of its own: the session browser (Playwright's sync API) may run an event loop here
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        replies = pool.submit(asyncio.run, _try_execute(ws, cookies, marker)).result()
    assert "kernel_info_reply" in replies  # the channel works ...
    time.sleep(1)
    assert "execute_reply" not in replies and not marker.exists()  # ... but code is not run


def writable_dir(hub: Hub) -> Path:
    """A directory every system user can write (the test's base directory is 0755, homes too)."""
    d = hub.home_root.parent / "probe"
    d.mkdir(exist_ok=True)
    d.chmod(0o777)
    return d
