"""Settings of the JupyterHub deployable (environment prefix ``CBM_HUB_``).

The hub is its own deployable, so it has its own settings class, next to the backend's
:class:`backend.settings.Settings` (database, secrets, demo mode), which it reads too.
Nothing in ``hub-config/`` reads ``os.environ`` except through these two classes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.settings import PROJECT_ROOT, Settings, get_settings

HUB_CONFIG_DIR = Path(__file__).resolve().parent
VENV_BIN = PROJECT_ROOT / ".venv" / "bin"


class HubSettings(BaseSettings):
    """All settings of the hub. Environment variables are ``CBM_HUB_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="CBM_HUB_", env_file=(PROJECT_ROOT / ".env", ".env"), env_file_encoding="utf-8",
        extra="ignore",
    )

    ip: str = Field("127.0.0.1", description="Public (proxy) address; loopback by default.")
    port: int = Field(8100, ge=1, le=65535, description="Public (proxy) port.")
    proxy_api_port: int | None = Field(None, ge=1, le=65535,
                                       description="Proxy REST API port; unset = port+1.")
    hub_port: int = Field(8081, ge=1, le=65535, description="Internal port of the hub itself (loopback).")
    dashboards_port: int = Field(8090, ge=1, le=65535,
                                 description="Loopback port of the dashboards service.")
    base_url: str = Field("/", description="URL prefix of the whole hub.")
    data_dir: Path = Field(PROJECT_ROOT / "var" / "hub", description="Hub state: sqlite db, cookie secret.")
    home_root: Path = Field(
        Path("/home"), description="Parent of the system users' home directories (must be traversable).")
    user_prefix: str = Field(
        "cbm-", pattern=r"^[a-z_][a-z0-9_-]{0,8}$", description="Prefix of system user names (root only).")
    dashboards_user: str = Field(
        "cbm-dashboards", pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="System user running the consumers' dashboards service (root only).")
    apps_dir: Path = Field(PROJECT_ROOT / "apps", description="Voilà dashboards served to consumers.")
    notebooks_dir: Path = Field(PROJECT_ROOT / "notebooks", description="Copied into analysts' homes.")
    voila_template: str = Field(
        "cbm-offline", description="Voilà template (offline: no CDN): apps/share/jupyter/voila/templates.")
    share_dir: Path = Field(
        PROJECT_ROOT / "var" / "hub-share",
        description="World-readable Jupyter data dir holding the offline Voilà template (built at start).")
    proxy_cmd: Path = Field(
        PROJECT_ROOT / "var" / "node" / "node_modules" / ".bin" / "configurable-http-proxy",
        description="configurable-http-proxy, installed from npm by `make hub`.")
    api_url: str = Field("http://127.0.0.1:8008",
                         description="REST API URL given to notebooks and dashboards.")
    authenticator: Literal["cbm", "oidc"] = Field(
        "cbm", description="cbm = project user store; oidc = agency OAuth/OIDC (oauthenticator).")
    idle_timeout_s: int = Field(3600, ge=0,
                                description="Idle single-user servers are stopped after this (0 = never).")
    kernel_idle_timeout_s: int = Field(1800, ge=0,
                                       description="Idle kernels are culled after this (0 = never).")
    mem_limit_mb: int | None = Field(
        None, ge=256, description="Address-space limit (RLIMIT_AS) of each single-user server; unset = none.")
    crypt_key: SecretStr | None = Field(
        None, description="32-byte hex key encrypting auth_state; unset = derived from CBM_SECRET_KEY.")
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    @property
    def public_url(self) -> str:
        """URL users open in their browser."""
        return f"http://{self.ip}:{self.port}{self.base_url}"

    def auth_state_key(self, settings: Settings) -> str:
        """Hex key for JUPYTERHUB_CRYPT_KEY (auth_state encryption)."""
        if self.crypt_key is not None:
            return self.crypt_key.get_secret_value()
        secret = settings.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"cbm-jupyterhub-auth-state", hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=1)
def get_hub_settings() -> HubSettings:
    """Process-wide hub settings (cached)."""
    return HubSettings()


def get_backend_settings() -> Settings:
    """The backend settings (database, secrets), shared with the API."""
    return get_settings()
