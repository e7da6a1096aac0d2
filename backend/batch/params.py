"""Notebook parameters: typed values from the command line, and settings for the kernel."""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import SecretStr

from backend.errors import InvalidInput
from backend.parcels.sets import ParcelSetKey
from backend.settings import Settings

KEY_TEXT = ("aoi", "ptype")  # parcel-set key parameters that stay text even when they look like numbers


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
        out[key] = value if key in KEY_TEXT else coerce(value)
    return out


def set_key(parameters: dict[str, Any]) -> ParcelSetKey | None:
    """The parcel set the parameters name (``aoi``, ``year``, optional ``ptype``), or None.

    ``ptype`` means what it means for ``cbm extract --ptype``: absent or ``""`` is the main set.

    Raises:
        InvalidInput: ``year`` is not a whole number, or ``aoi`` is empty.
    """
    if not {"aoi", "year"} <= set(parameters):
        return None
    return ParcelSetKey(str(parameters["aoi"]), parameters["year"], str(parameters.get("ptype", "")))


def set_parameters(key: ParcelSetKey) -> dict[str, Any]:
    """Notebook parameters naming ``key``: ``aoi`` and ``year``, and ``ptype`` for a variant."""
    return {"aoi": key.aoi, "year": key.year, **({"ptype": key.ptype} if key.ptype else {})}


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
