"""Settings of the widget library (a deployable of its own: dashboards, analyst notebooks).

Read from the environment, never from the backend's settings or ``.env``:

``CBM_API_URL``
    Base URL of the CbM REST API, e.g. ``http://127.0.0.1:8000``.
``CBM_API_USER`` / ``CBM_API_PASSWORD``
    HTTP Basic credentials of the dashboard's user.
``CBM_API_TIMEOUT``
    Seconds to wait for one answer (default 30).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    """Where the API is and who is asking. Environment variables are ``CBM_API_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CBM_API_", extra="ignore")

    url: str = Field("", description="Base URL of the API.")
    user: str = Field("", description="HTTP Basic username.")
    password: SecretStr = Field(SecretStr(""), description="HTTP Basic password.")
    timeout: float = Field(30.0, gt=0, le=600, description="Seconds to wait for one answer.")
