"""Every new GRD product of a folder into CARD-BS (the work of notebooks/batch/card_s1.ipynb)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.ard.card import CardSpec, card_s1, product_id
from backend.ard.safe import GrdFiles, parse_name
from backend.errors import CbmError
from backend.progress import with_progress
from backend.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class CardBatchReport:
    """Products made, already made (skipped) and refused (name -> reason)."""

    made: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def grd_products(folder: Path) -> list[Path]:
    """The GRD products (``*.SAFE`` folders and ``*.zip``) directly in ``folder``, by name."""
    found = [p for p in folder.iterdir() if p.name.startswith("S1") and "_GRD" in p.name
             and (p.suffix == ".zip" or (p.suffix == ".SAFE" and p.is_dir()))]
    return sorted(found, key=lambda p: p.name)


def card_new_products(settings: Settings, folder: Path, out_dir: Path, spec: CardSpec, *,
                      progress: bool | Any = False) -> CardBatchReport:
    """Make CARD-BS for each GRD product of ``folder`` that has no product in ``out_dir`` yet.

    A refused product (bad input) is reported and the others go on; it is not retried.
    """
    report = CardBatchReport()
    for path in with_progress(grd_products(folder), progress, desc="card s1", unit="product"):
        name = path.name.removesuffix(".zip").removesuffix(".SAFE")
        try:
            m = parse_name(name)
            files = GrdFiles(Path(name + ".SAFE"), m.group(1), m.group(2), m.group(5), int(m.group(6)), ())
            if (out_dir / product_id(files, spec)).exists():
                report.skipped.append(name)
                continue
            card_s1(settings, str(path), out_dir, spec)
            report.made.append(name)
        except CbmError as exc:
            log.warning("refused %s: %s", name, exc)
            report.refused[name] = str(exc)
    return report
