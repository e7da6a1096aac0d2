"""Which columns of a parcel file hold the parcel id, crop code and crop name.

Columns are named by option or by a mapping file (YAML keys ``pid``, ``cropcode``,
``cropname``, ``layer``, ``id_from_row``, ``crops``); what is not named is guessed from common
names (case-insensitive). ``--mapping nl`` names a mapping shipped in ``backend/parcels/mappings/``.
``crops`` names a crop table file (see :mod:`backend.parcels.crops`; a relative path is read
beside the mapping file), loaded for the set's AOI and year in the import's transaction.

The parcel id may be several columns (a composite id, see :mod:`backend.parcels.ids`) or,
with ``id_from_row``, the row number. A crop code or a crop name is required, not both; the
EuroCrops HCAT columns (``EC_hcat_c`` / ``EC_hcat_n``) are the last guess for them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from backend.errors import InvalidInput

# Candidate names in order of preference, compared case-insensitively. National names
# included: NL BRP (gewascode, gewas), FR RPG (id_parcel, code_cultu), DK (afgkode, afgroede).
PID_CANDIDATES = ("pid", "parcel_id", "parcelid", "id_parcel", "parcel", "id")
CROPCODE_CANDIDATES = ("crop_code", "cropcode", "code_crop", "gewascode", "code_cultu", "afgkode",
                       "ec_hcat_c")
CROPNAME_CANDIDATES = ("crop_name", "cropname", "name_crop", "gewas", "afgroede", "ec_hcat_n")
HCAT_COLUMNS = ("ec_hcat_c", "ec_hcat_n")  # EuroCrops HCAT code and name (lower case)

MAPPINGS_DIR = Path(__file__).parent / "mappings"
_YAML_KEYS = ("pid", "cropcode", "cropname", "layer", "id_from_row", "crops")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class ColumnMapping:
    """Names of the source columns (``None`` = guess) and optionally the layer to read.

    ``pid`` holds one column or several (a composite id); ``id_from_row`` numbers the rows
    instead (for sets without any id).
    """

    pid: tuple[str, ...] | str | None = None  # a single name becomes a 1-tuple
    cropcode: str | None = None
    cropname: str | None = None
    layer: str | None = None
    id_from_row: bool = False
    crops: Path | None = None  # a crop table file to load with the parcels

    def __post_init__(self) -> None:
        for key in ("cropcode", "cropname", "layer"):
            _check_name(key, getattr(self, key))
        if isinstance(self.pid, str):
            object.__setattr__(self, "pid", (self.pid,))
        if self.pid is not None:
            if not isinstance(self.pid, tuple) or not self.pid:
                raise InvalidInput(f"column mapping: pid must be one or more column names, got {self.pid!r}")
            for name in self.pid:
                _check_name("pid", name)
            if len(set(self.pid)) < len(self.pid):
                raise InvalidInput(f"column mapping: pid names a column twice: {', '.join(self.pid)}")
        if self.id_from_row and self.pid is not None:
            raise InvalidInput("give either an id column (--id-col, pid:) or --id-from-row, not both")

    def override(self, **names: object) -> ColumnMapping:
        """Return a copy with the given names replaced; ``None`` values keep the current name.

        Used to let command-line options win over a mapping file (an id column given on the
        command line replaces ``id_from_row`` of the file, and the other way round).
        """
        changes = {k: v for k, v in names.items() if v is not None and v is not False}
        if "pid" in changes:
            changes.setdefault("id_from_row", False)
        if changes.get("id_from_row"):
            changes.setdefault("pid", None)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ResolvedColumns:
    """The source columns actually used (no ``pid`` = row numbers; one crop column may be absent)."""

    pid: tuple[str, ...]
    cropcode: str | None
    cropname: str | None
    hcat: tuple[str, ...] = ()  # the EuroCrops HCAT columns found (kept in attrs when unused)

    @property
    def used(self) -> tuple[str, ...]:
        """The mapped column names (everything else goes into ``attrs``)."""
        return (*self.pid, *(c for c in (self.cropcode, self.cropname) if c is not None))


def _check_name(key: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidInput(f"column mapping: {key} must be a non-empty name, got {value!r}")


def mapping_path(name_or_path: str | Path) -> Path:
    """The mapping file: a path, or the name of a shipped mapping (``nl`` -> ``mappings/nl.yaml``).

    Raises:
        InvalidInput: neither an existing file nor a shipped mapping (lists the shipped ones).
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = str(name_or_path)
    if _NAME.match(text) and (MAPPINGS_DIR / f"{text}.yaml").is_file():
        return MAPPINGS_DIR / f"{text}.yaml"
    shipped = ", ".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml"))) or "(none)"
    raise InvalidInput(f"mapping {text!r} is neither a file nor a shipped mapping; shipped: {shipped}")


def load_mapping(yaml_path: str | Path) -> ColumnMapping:
    """Read a column mapping from YAML, e.g. ``pid: [Markblok, Marknr]`` / ``cropcode: Afgkode``.

    Args:
        yaml_path: a file with the keys ``pid`` (a name or a list), ``cropcode``, ``cropname``,
            ``layer``, ``id_from_row`` and ``crops`` (a crop table file, relative to the
            mapping's folder; all optional), or the name of a shipped mapping.

    Raises:
        InvalidInput: the file is missing, not YAML, not a mapping or has unknown keys.
    """
    path = mapping_path(yaml_path)
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
    pid = data.get("pid")
    id_from_row = data.get("id_from_row", False)
    if not isinstance(id_from_row, bool):
        raise InvalidInput(f"column mapping {path}: id_from_row must be true or false")
    crops = data.get("crops")
    if crops is not None and (not isinstance(crops, str) or not crops.strip()):
        raise InvalidInput(f"column mapping {path}: crops must be the path of a crop table file")
    return ColumnMapping(
        pid=None if pid is None else tuple(str(p) for p in (pid if isinstance(pid, list) else [pid])),
        **{k: None if data.get(k) is None else str(data[k]) for k in ("cropcode", "cropname", "layer")},
        id_from_row=id_from_row, crops=None if crops is None else path.parent / crops)


def resolve_columns(columns: Sequence[str], mapping: ColumnMapping, source: str) -> ResolvedColumns:
    """Match the mapping against the file's attribute columns, guessing what is not named.

    Args:
        columns: attribute column names of the file (geometry excluded).
        mapping: names given by the user (``None`` = guess).
        source: file name, for messages.

    Raises:
        InvalidInput: a named column is missing, the id cannot be guessed, or there is neither
            a crop code nor a crop name column; the message lists the available columns.
    """
    if mapping.id_from_row:
        pid: tuple[str, ...] = ()
    elif isinstance(mapping.pid, tuple):
        pid = tuple(str(_pick(columns, p, (), "parcel id", "--id-col", source)) for p in mapping.pid)
    else:
        pid = (str(_pick(columns, None, PID_CANDIDATES, "parcel id", "--id-col", source,
                         hint=" (several columns for a composite id, or --id-from-row)")),)
    code = _pick(columns, mapping.cropcode, CROPCODE_CANDIDATES, "crop code", "--crop-code-col",
                 source, required=False)
    name = _pick(columns, mapping.cropname, CROPNAME_CANDIDATES, "crop name", "--crop-name-col",
                 source, required=False)
    if code is None and name is None:
        raise InvalidInput(f"{source}: cannot guess a crop code or crop name column; name one with "
                           f"--crop-code-col or --crop-name-col or a mapping file; available columns: "
                           f"{', '.join(columns) or '(none)'}")
    used = [*pid, *(c for c in (code, name) if c is not None)]
    if len(set(used)) < len(used):
        raise InvalidInput(f"{source}: the same column is mapped twice "
                           f"(pid={', '.join(pid)}, cropcode={code}, cropname={name})")
    hcat = tuple(c for c in columns if c.lower() in HCAT_COLUMNS)
    return ResolvedColumns(pid=pid, cropcode=code, cropname=name, hcat=hcat)


def _pick(columns: Sequence[str], named: str | None, candidates: Sequence[str], what: str,
          option: str, source: str, *, required: bool = True, hint: str = "") -> str | None:
    available = ", ".join(columns) or "(none)"
    folded = {c.lower(): c for c in columns}
    if named is not None:
        if named in columns:
            return named
        if named.lower() in folded:
            return folded[named.lower()]
        raise InvalidInput(f"{source}: {what} column {named!r} not found; "
                           f"available columns: {available}")
    for cand in candidates:
        if cand in folded:
            return folded[cand]
    if required:
        raise InvalidInput(f"{source}: cannot guess the {what} column; name it with {option}{hint} "
                           f"or a mapping file; available columns: {available}")
    return None
