"""Crop tables: crop code -> name, optional group and EuroCrops HCAT code, per AOI and year.

Agencies publish crop names apart from the parcels (Flanders, France). A crop table is a CSV
file (``,`` or ``;`` separated, UTF-8) with a header naming a code column (``code``,
``cropcode``, ``crop_code``), and optionally a name (``name``, ``cropname``, ``crop_name``),
a group (``group``, ``crop_group``: one of :data:`GROUPS`) and an HCAT code (``hcat``,
``hcat_code``, ``EC_hcat_c``). A table replaces the previous one of its AOI and year as a whole;
a parcel with a code but no name is served with the table's name.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backend.db import connect
from backend.db import queries_parcels as q
from backend.errors import InvalidInput
from backend.parcels.columns import as_text
from backend.settings import Settings

log = logging.getLogger(__name__)

GROUPS = ("arable", "grassland", "permanent", "fallow", "landscape", "other")
_COLUMNS = {"code": ("code", "cropcode", "crop_code"), "name": ("name", "cropname", "crop_name"),
            "group": ("group", "crop_group"), "hcat": ("hcat", "hcat_code", "ec_hcat_c")}


@dataclass(frozen=True)
class CropTableResult:
    """Outcome of :func:`import_crops`."""

    n_codes: int
    n_replaced: int
    n_without_name: int


def import_crops(settings: Settings, path: str | Path, *, aoi: str, year: int) -> CropTableResult:
    """Load a crop table for (aoi, year), replacing the previous one (one transaction).

    Raises:
        InvalidInput: unreadable file, no code column, empty or duplicate codes, unknown groups.
    """
    from backend.parcels.service import check_key

    check_key(aoi, year, "")
    path = Path(path)
    rows = read_crop_table(path)
    with connect(settings) as conn, conn.transaction():
        n_old = q.replace_crop_table(conn, aoi, year, rows)
    n_nameless = sum(1 for r in rows if r[1] is None)
    log.info("crop table %s %d: %d codes (%d replaced) from %s", aoi, year, len(rows), n_old, path.name)
    return CropTableResult(len(rows), n_old, n_nameless)


def read_crop_table(path: Path) -> list[tuple[str, str | None, str | None, str | None]]:
    """The (code, name, group, hcat) rows of a crop table file, validated."""
    df = _read_csv(path)
    cols = {key: _column(df, names) for key, names in _COLUMNS.items()}
    if cols["code"] is None:
        raise InvalidInput(f"{path.name}: no crop code column (one of {', '.join(_COLUMNS['code'])}); "
                           f"its columns: {', '.join(map(str, df.columns))}")
    values = {k: as_text(df[c]) if c is not None else [None] * len(df) for k, c in cols.items()}
    codes = pd.Series(values["code"], dtype=object)
    _refuse(path, codes.isna(), "empty crop code")
    _refuse(path, codes.duplicated(keep=False) & codes.notna(), "crop code not unique")
    groups = pd.Series(values["group"], dtype=object).str.lower()
    _refuse(path, groups.notna() & ~groups.isin(GROUPS), f"group not one of {', '.join(GROUPS)}")
    return list(zip(codes, values["name"], groups.where(groups.notna(), None), values["hcat"],
                    strict=True))


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            head = fh.read(4096)
        dialect = csv.Sniffer().sniff(head, delimiters=",;\t") if head else None
        df = pd.read_csv(path, sep=dialect.delimiter if dialect else ",", dtype=str,
                         keep_default_na=False, encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"cannot read crop table {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"{path.name} is not a UTF-8 CSV crop table ({exc})") from None
    if len(df) == 0:
        raise InvalidInput(f"{path.name} has no crop rows")
    return df


def _column(df: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    folded = {str(c).strip().lower(): c for c in df.columns}
    return next((folded[n] for n in names if n in folded), None)


def _refuse(path: Path, bad: pd.Series, what: str) -> None:
    if bad.any():
        rows = [str(i + 2) for i in bad[bad].index[:10]]  # file lines (header is line 1)
        raise InvalidInput(f"{path.name}: {what} on line(s) {', '.join(rows)}"
                           f"{' ...' if bad.sum() > 10 else ''}; nothing imported")
