"""Which columns of a parcel file hold the parcel id, crop code and crop name.

Columns are named by option or by a small YAML file (keys ``pid``, ``cropcode``, ``cropname``
and optionally ``layer``); what is not named is guessed from common names (case-insensitive).
The parcel id and the crop code are required, the crop name is optional.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from backend.errors import InvalidInput

# Candidate names in order of preference, compared case-insensitively. National names
# included: NL BRP (gewascode, gewas), FR RPG (id_parcel, code_cultu), DK (afgkode, afgroede).
PID_CANDIDATES = ("pid", "parcel_id", "parcelid", "id_parcel", "parcel", "id")
CROPCODE_CANDIDATES = ("crop_code", "cropcode", "code_crop", "gewascode", "code_cultu", "afgkode")
CROPNAME_CANDIDATES = ("crop_name", "cropname", "name_crop", "gewas", "afgroede")

_YAML_KEYS = ("pid", "cropcode", "cropname", "layer")


@dataclass(frozen=True)
class ColumnMapping:
    """Names of the source columns (``None`` = guess) and optionally the layer to read."""

    pid: str | None = None
    cropcode: str | None = None
    cropname: str | None = None
    layer: str | None = None

    def __post_init__(self) -> None:
        for key in _YAML_KEYS:
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidInput(f"column mapping: {key} must be a non-empty name, got {value!r}")

    def override(self, **names: str | None) -> ColumnMapping:
        """Return a copy with the given names replaced; ``None`` values keep the current name.

        Used to let command-line options win over a mapping file.
        """
        return dataclasses.replace(self, **{k: v for k, v in names.items() if v is not None})


@dataclass(frozen=True)
class ResolvedColumns:
    """The source columns actually used (``cropname`` may be absent)."""

    pid: str
    cropcode: str
    cropname: str | None

    @property
    def used(self) -> tuple[str, ...]:
        """The mapped column names (everything else goes into ``attrs``)."""
        return tuple(c for c in (self.pid, self.cropcode, self.cropname) if c is not None)


def load_mapping(yaml_path: str | Path) -> ColumnMapping:
    """Read a column mapping from YAML, e.g. ``pid: PERCEEL_ID`` / ``cropcode: GWS_GEWASCODE``.

    Args:
        yaml_path: file with the keys ``pid``, ``cropcode``, ``cropname`` and optional ``layer``.

    Raises:
        InvalidInput: the file is missing, not YAML, not a mapping or has unknown keys.
    """
    path = Path(yaml_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read column mapping {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"column mapping {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"column mapping {path} must be a YAML mapping with keys "
                           f"{', '.join(_YAML_KEYS)}")
    unknown = sorted(str(k) for k in data if k not in _YAML_KEYS)
    if unknown:
        raise InvalidInput(f"column mapping {path}: unknown key(s) {', '.join(unknown)}; "
                           f"allowed: {', '.join(_YAML_KEYS)}")
    return ColumnMapping(**{k: None if v is None else str(v) for k, v in data.items()})


def resolve_columns(columns: Sequence[str], mapping: ColumnMapping, source: str) -> ResolvedColumns:
    """Match the mapping against the file's attribute columns, guessing what is not named.

    Args:
        columns: attribute column names of the file (geometry excluded).
        mapping: names given by the user (``None`` = guess).
        source: file name, for messages.

    Raises:
        InvalidInput: a named column is missing, or the id or crop code cannot be guessed; the
            message lists the available columns.
    """
    pid = _pick(columns, mapping.pid, PID_CANDIDATES, "parcel id", "--id-col", source)
    code = _pick(columns, mapping.cropcode, CROPCODE_CANDIDATES, "crop code",
                 "--crop-code-col", source)
    name = _pick(columns, mapping.cropname, CROPNAME_CANDIDATES, "crop name",
                 "--crop-name-col", source, required=False)
    assert pid is not None and code is not None  # required=True never returns None
    used = [c for c in (pid, code, name) if c is not None]
    if len(set(used)) < len(used):
        raise InvalidInput(f"{source}: the same column is mapped twice "
                           f"(pid={pid}, cropcode={code}, cropname={name})")
    return ResolvedColumns(pid=pid, cropcode=code, cropname=name)


def _pick(columns: Sequence[str], named: str | None, candidates: Sequence[str], what: str,
          option: str, source: str, *, required: bool = True) -> str | None:
    available = ", ".join(columns) or "(none)"
    if named is not None:
        if named in columns:
            return named
        folded = {c.lower(): c for c in columns}
        if named.lower() in folded:
            return folded[named.lower()]
        raise InvalidInput(f"{source}: {what} column {named!r} not found; "
                           f"available columns: {available}")
    folded = {c.lower(): c for c in columns}
    for cand in candidates:
        if cand in folded:
            return folded[cand]
    if required:
        raise InvalidInput(f"{source}: cannot guess the {what} column; name it with {option} "
                           f"or a mapping file; available columns: {available}")
    return None
