"""Single-user servers as local processes (no Docker), one system user per hub user when root.

* Hub running as **root**: hub user ``alice`` runs as system user ``cbm-alice`` (created on the
  first spawn with ``useradd``, home ``<CBM_HUB_HOME_ROOT>/cbm-alice``, mode 0700). Names that
  are not valid system names (upper case, ``@``, ``.``, longer than 32) are mapped to a safe
  name plus a short hash. The project virtualenv must be world-readable (it is built from
  Debian's ``/usr/bin/python3``), and ``home_root`` traversable by every user.
* Hub running as **another user** (a developer's account): every server runs as that user,
  with its own ``HOME`` under ``<CBM_HUB_DATA_DIR>/homes/<name>``. Users are then separated by
  the hub's authentication only, not by the operating system: for demos and development.

On the first start the project's ``notebooks/`` (and ``apps/``) are copied into the home.
Consumers never get a server: :meth:`CbmSpawner.start` refuses them even if a misconfigured
role would let them ask.
"""

from __future__ import annotations

import asyncio
import grp
import hashlib
import os
import pwd
import re
import resource
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub_settings import HUB_CONFIG_DIR, VENV_BIN, get_hub_settings
from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from tornado import web

COPIED_MARK = ".cbm-notebooks-copied"
_IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


def running_as_root() -> bool:
    """True when the hub can switch users."""
    return os.geteuid() == 0


def system_name(hub_name: str, prefix: str) -> str:
    """A valid, stable system user name for a hub user name."""
    safe = re.sub(r"[^a-z0-9_-]", "-", hub_name.lower())
    name = prefix + safe
    if safe != hub_name or len(name) > 32:
        digest = hashlib.sha256(hub_name.encode()).hexdigest()[:6]
        name = f"{prefix}{safe[: 32 - len(prefix) - 7]}-{digest}"
    return name


def ensure_system_user(name: str, home: Path, comment: str) -> pwd.struct_passwd:
    """Create the system user ``name`` (own group, login shell bash) unless it exists."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    home.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["useradd", "--home-dir", str(home), "--no-create-home", "--shell", "/bin/bash",
           "--user-group", "--comment", comment[:60], name]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 9):  # 9: created meanwhile by a concurrent spawn
        raise RuntimeError(f"useradd {name} failed: {done.stderr.strip()}")
    return pwd.getpwnam(name)


def prepare_home(home: Path, owner: pwd.struct_passwd | None, sources: dict[str, Path]) -> None:
    """Create the home (0700) and copy ``sources`` into it once (first start only)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if owner is not None:
        os.chown(home, owner.pw_uid, owner.pw_gid)
    mark = home / COPIED_MARK
    if mark.exists():
        return
    for target, src in sources.items():
        if src.is_dir():
            shutil.copytree(src, home / target, ignore=_IGNORE, dirs_exist_ok=True)
    mark.write_text("notebooks copied on first start; delete this file to copy them again\n")
    if owner is not None:
        for path in [home, *home.rglob("*")]:
            os.lchown(path, owner.pw_uid, owner.pw_gid)


def is_consumer(user: Any) -> bool:
    """True for hub users whose only group is ``consumers`` (never admins)."""
    groups = {g.name for g in user.groups}
    return not user.admin and "analysts" not in groups and "admins" not in groups


class CbmSpawner(LocalProcessSpawner):
    """LocalProcessSpawner with per-user system accounts, a prepared home and API credentials."""

    _cbm_auth_state: dict[str, Any] | None = None

    @property
    def system_user(self) -> str | None:
        """The system user of this hub user (None when the hub does not run as root)."""
        if not running_as_root():
            return None
        return system_name(self.user.name, get_hub_settings().user_prefix)

    @property
    def home(self) -> Path:
        """Home directory of the single-user server."""
        hs = get_hub_settings()
        if self.system_user is None:
            return hs.data_dir / "homes" / system_name(self.user.name, "")
        return hs.home_root / self.system_user

    async def run_auth_state_hook(self, auth_state: dict[str, Any] | None) -> None:
        """Keep the (decrypted) auth state: role, AOI grants and the API password."""
        self._cbm_auth_state = auth_state
        await super().run_auth_state_hook(auth_state)

    async def start(self) -> Any:
        """Refuse consumers, create the system user and home, then start the server."""
        if is_consumer(self.user):
            raise web.HTTPError(403, "consumers use the dashboards and have no server")
        await asyncio.to_thread(self._prepare)
        return await super().start()

    def _prepare(self) -> None:
        hs = get_hub_settings()
        owner = None
        if self.system_user is not None:
            owner = ensure_system_user(self.system_user, self.home, f"CbM hub user {self.user.name}")
        prepare_home(self.home, owner, {"notebooks": hs.notebooks_dir, "apps": hs.apps_dir})

    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        """Apply the memory limit, then switch to the system user (or just chdir home)."""
        limit = get_hub_settings().mem_limit_mb
        switch = set_user_setuid(self.system_user) if self.system_user else None
        home = str(self.home)

        def preexec() -> None:
            if limit:
                resource.setrlimit(resource.RLIMIT_AS, (limit * 2**20, limit * 2**20))
            if switch is not None:
                switch()
            else:
                os.chdir(home)

        return preexec

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        """USER, HOME and SHELL of the system user; API credentials of the hub user."""
        env["HOME"] = str(self.home)
        if self.system_user is not None:
            pw = pwd.getpwnam(self.system_user)
            env.update(USER=pw.pw_name, SHELL=pw.pw_shell or "/bin/bash",
                       LOGNAME=pw.pw_name)
            env["CBM_HUB_SYSTEM_GROUP"] = grp.getgrgid(pw.pw_gid).gr_name
        state = self._cbm_auth_state or {}
        env["CBM_API_URL"] = get_hub_settings().api_url
        env["CBM_API_USER"] = self.user.name
        if state.get("api_password"):
            env["CBM_API_PASSWORD"] = state["api_password"]
        return env


def spawner_config(c: Any) -> None:
    """Apply the spawner part of the hub configuration to ``c``."""
    hs = get_hub_settings()
    c.JupyterHub.spawner_class = CbmSpawner
    c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.notebook_dir = "~"
    c.Spawner.disable_user_config = True
    c.Spawner.http_timeout = 60
    c.Spawner.start_timeout = 90
    c.Spawner.environment = {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": str(VENV_BIN.parent),
        # mathjax off, offline Voilà template, kernel culling: hub-config/singleuser/
        "JUPYTER_CONFIG_PATH": str(HUB_CONFIG_DIR / "singleuser"),
        "JUPYTER_PATH": str(hs.share_dir),
    }
    c.Spawner.args = [
        f"--MappingKernelManager.cull_idle_timeout={hs.kernel_idle_timeout_s}",
        "--MappingKernelManager.cull_interval=300",
        f"--VoilaConfiguration.template={hs.voila_template}",
    ]
