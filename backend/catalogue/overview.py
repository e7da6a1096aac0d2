"""Read side of the image catalogue: what it holds, per collection and per time-series type."""

from __future__ import annotations

from typing import Any

from backend.db import queries_catalogue as qc
from backend.extraction import timeseries


def catalogue_summary(conn: qc.Conn) -> list[dict[str, Any]]:
    """Images per collection and kind with date range and job counts."""
    return qc.summary(conn)


def imagery(conn: qc.Conn) -> list[dict[str, Any]]:
    """What the catalogue holds, per tstype, provider and collection.

    Each entry: the image count, the bands the images have (JRC names, in band order) and
    their masks (``SCL`` or ``none``); duplicate copies are left out.
    """
    out = []
    for r in qc.catalogue_bands(conn):
        names = timeseries.STORED_TO_JRC.get(r["kind"], {})
        out.append({"tstype": r["kind"], "provider": r["provider"], "collection": r["collection"],
                    "images": r["n_images"], "masks": list(r["masks"]),
                    "bands": [n for stored, n in names.items() if stored in set(r["bands"] or ())]})
    return out
