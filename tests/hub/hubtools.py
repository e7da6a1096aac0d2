"""Helpers of the hub tests: a real JupyterHub: one per module, free loopback ports, always stopped.

The hub runs the project's ``hub-config/jupyterhub_config.py`` against the session's test
database (``hub`` fixture over the ``settings`` fixture), or against any database and dashboard
directory with ``running_hub`` (the browser test: the demo database and ``apps/``). As root, its
users become system users with the test prefix ``cbmt-``; those users, their homes and the hub's
processes are removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import procs
import pytest
import requests

from backend.accounts import hash_password
from backend.db import connect, database_url
from backend.db import queries_accounts as q
from backend.settings import PROJECT_ROOT, Settings

HUB_CONFIG = PROJECT_ROOT / "hub-config" / "jupyterhub_config.py"
PROXY = PROJECT_ROOT / "var" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
PREFIX = "cbmt-"
DASHBOARD = """import os
print("api user:", os.environ.get("CBM_API_USER"),
      "| password set:", bool(os.environ.get("CBM_API_PASSWORD")),
      "| hub token visible:", "JUPYTERHUB_API_TOKEN" in os.environ)"""


@dataclass
class Hub:
    """A running hub: its public URL, users (name -> password) and paths."""

    url: str
    users: dict[str, str]
    home_root: Path
    log: Path

    def tail(self, n: int = 60) -> str:
        """Last lines of the hub log (for failure messages)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])



def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid`` (from /proc), children first."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        todo += kids
    return found


def _signal(pids: list[int], sig: signal.Signals) -> None:
    """Send ``sig`` to each of ``pids`` that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM the hub and everything it started, SIGKILL what is left after ``grace_s``."""
    pids = descendants(proc.pid)
    _signal(pids, signal.SIGTERM)
    procs.stop(proc, grace_s)
    _signal(pids, signal.SIGKILL)


def write_apps(apps: Path) -> None:
    """A tiny dashboard directory for the consumers' Voilà."""
    apps.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Test dashboard"),
                                         nbformat.v4.new_code_cell(DASHBOARD)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, apps / "hello.ipynb")


def create_users(settings: Settings, tag: str) -> dict[str, str]:
    """One user per role plus an inactive analyst; returns name -> password."""
    users = {}
    with connect(settings, autocommit=True) as conn:
        for role in ("admin", "analyst", "consumer", "inactive"):
            name, password = f"hub{role[:4]}-{tag}", secrets.token_urlsafe(12)
            q.insert_user(conn, name, hash_password(password), "analyst" if role == "inactive" else role)
            q.grant(conn, name, "nl", "test")
            users[role] = name
            users[name] = password
        conn.execute("UPDATE users SET active = false WHERE username = %s", (users["inactive"],))
    return users


def drop_system_users(tag: str) -> None:
    """Delete the system users this module created (names carry the test prefix and tag)."""
    for pw in pwd.getpwall():
        if pw.pw_name.startswith(PREFIX) and tag in pw.pw_name:
            subprocess.run(["userdel", pw.pw_name], capture_output=True, check=False)


def wait_up(url: str, proc: subprocess.Popen, hub: Hub, timeout_s: float = 60) -> None:
    """Wait until the hub answers through the proxy (HTTP 200 from its API); fail with its log."""
    try:
        procs.wait_http(f"{url}/hub/api/", proc, "hub", timeout_s, ok=lambda status: status == 200)
    except RuntimeError as exc:
        pytest.fail(f"{exc}\n{hub.tail()}")


@contextlib.contextmanager
def running_hub(settings: Settings, users: dict[str, str], tag: str, apps: Path | None = None,
                api_url: str = "http://127.0.0.1:9") -> Iterator[Hub]:
    """Start a hub on free loopback ports over ``settings``' user store; stop and clean up after.

    ``apps`` is the consumers' dashboard directory (default: a tiny test dashboard), ``api_url``
    the REST API given to notebooks and dashboards (default: nothing listens there). System users
    named with ``tag`` and the hub's temporary directory are removed at the end.
    """
    if not PROXY.exists():  # `make test` installs it; fail loudly rather than skip
        pytest.fail(f"{PROXY} missing: run `make test` (or npm install --prefix var/node "
                    "configurable-http-proxy)")
    base = Path(tempfile.mkdtemp(prefix="cbm-hub-test-"))
    base.chmod(0o755)  # system users must traverse to their homes and the apps
    (base / "homes").mkdir(mode=0o755)
    if apps is None:
        apps = base / "apps"
        write_apps(apps)
    port, api_port, hub_port, dash_port = procs.free_ports(4)
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ,
           "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(settings),
           "CBM_HUB_IP": "127.0.0.1", "CBM_HUB_PORT": str(port), "CBM_HUB_PROXY_API_PORT": str(api_port),
           "CBM_HUB_HUB_PORT": str(hub_port), "CBM_HUB_DASHBOARDS_PORT": str(dash_port),
           "CBM_HUB_DATA_DIR": str(base / "data"), "CBM_HUB_HOME_ROOT": str(base / "homes"),
           "CBM_HUB_APPS_DIR": str(apps), "CBM_HUB_SHARE_DIR": str(base / "share"),
           "CBM_HUB_USER_PREFIX": PREFIX,
           "CBM_HUB_DASHBOARDS_USER": f"{PREFIX}dash-{tag}", "CBM_HUB_IDLE_TIMEOUT_S": "0",
           "CBM_HUB_API_URL": api_url}
    log = base / "hub.log"
    h = Hub(url, users, base / "homes", log)
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", str(HUB_CONFIG)], cwd=base,
                                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_up(url, proc, h)
            yield h
        finally:
            stop(proc)
    finally:
        drop_system_users(tag)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(settings: Settings) -> Iterator[Hub]:
    """A hub over the session's test database with one user per role; users deleted after."""
    tag = secrets.token_hex(3)
    try:
        users = create_users(settings, tag)
        with running_hub(settings, users, tag) as h:
            yield h
    finally:
        with connect(settings, autocommit=True) as conn:
            conn.execute("DELETE FROM users WHERE username LIKE %s", (f"%-{tag}",))


def login(hub: Hub, name: str, password: str | None = None) -> tuple[requests.Session, requests.Response]:
    """Log in through the hub's real login form (with its xsrf token)."""
    s = requests.Session()
    page = s.get(f"{hub.url}/hub/login", timeout=10)
    xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', page.text)
    assert xsrf, page.text[:500]
    r = s.post(f"{hub.url}/hub/login", timeout=60,
               data={"username": name, "password": hub.users[name] if password is None else password,
                     "_xsrf": xsrf.group(1)})
    return s, r


def xsrf_headers(s: requests.Session, path: str = "/hub/") -> dict[str, str]:
    """The X-XSRFToken header for a cookie-authenticated non-GET request."""
    token = next((c.value for c in s.cookies if c.name == "_xsrf" and c.path == path), None)
    token = token or next(c.value for c in s.cookies if c.name == "_xsrf")
    return {"X-XSRFToken": token}
