"""Notebook parameters: typed values from the command line, and settings for the kernel."""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import SecretStr

from backend.errors import InvalidInput
from backend.settings import Settings


def coerce(value: str) -> Any:
    """Type a ``-p KEY VALUE`` value as YAML does: ``2025`` -> int, ``[1, 2]`` -> list, else str."""
    try:
        typed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return typed if isinstance(typed, (int, float, bool, list, dict)) or typed is None else str(value)


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``[("aoi", "nl"), ("year", "2025")]`` -> ``{"aoi": "nl", "year": 2025}``.

    Raises:
        InvalidInput: a key is not a Python identifier.
    """
    out = {}
    for key, value in pairs:
        if not key.isidentifier():
            raise InvalidInput(f"parameter name {key!r} is not a Python identifier")
        out[key] = coerce(value)
    return out


def split_settings(settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    """Split the settings that differ from the defaults into notebook parameters and secrets.

    Returns:
        ``(overrides, env)``: JSON-able non-secret values for the ``settings_overrides``
        parameter (kept in the executed notebook), and the secrets as ``CBM_*`` variables for
        the kernel's environment (never written to the notebook).
    """
    overrides: dict[str, Any] = {}
    env: dict[str, str] = {}
    dumped = settings.model_dump(mode="json")
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        if value == info.get_default(call_default_factory=True):
            continue
        if isinstance(value, SecretStr):
            env[f"CBM_{name.upper()}"] = value.get_secret_value()
        elif value is not None:
            overrides[name] = dumped[name]
    json.dumps(overrides)  # fail here, not in the kernel, if something is not JSON-able
    return overrides, env
