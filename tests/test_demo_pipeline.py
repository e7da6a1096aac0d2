"""``cbm demo run`` never keeps a database demo made from other files than the build on disk.

A new generator version or seed rewrites ``var/demo`` under the same parcel ids, item ids and
hrefs; without this check every step found its work done and the demo served signatures,
decisions and reviews of imagery no longer on disk.
"""

from __future__ import annotations

import pytest

from backend.db import connect
from backend.demo import build_demo
from backend.demo.pipeline import _catalogue, _forget_other_build, _import, build_digest
from backend.errors import CbmError
from backend.parcels import import_parcels

YEAR = 2025


def _counts(s) -> tuple[int, int]:
    with connect(s) as c:
        sets = c.execute("SELECT count(*) AS n FROM parcel_sets WHERE aoi = 'demo'").fetchone()["n"]
        images = c.execute("SELECT count(*) AS n FROM images").fetchone()["n"]
    return sets, images


def test_a_demo_of_other_files_is_replaced_and_a_foreign_set_is_refused(clean_db, tmp_path):
    first = build_demo(tmp_path / "a", seed=5, n_parcels=20, n_s2_dates=2, n_s1_dates=1)
    assert _import(clean_db, first, YEAR).startswith("parcels: imported")
    _catalogue(clean_db, first)
    n_images = _counts(clean_db)[1]
    assert n_images == 2 + 1 + 1  # two S2 dates, one backscatter and one coherence date
    assert list(_forget_other_build(clean_db, first, YEAR)) == []  # same build: kept
    assert "already imported" in _import(clean_db, first, YEAR)

    other = build_demo(tmp_path / "a", seed=6, n_parcels=20, n_s2_dates=2, n_s1_dates=1)  # same folder
    assert build_digest(other) != build_digest(first)
    (line,) = _forget_other_build(clean_db, other, YEAR)
    assert f"build {build_digest(first)}, now {build_digest(other)}" in line and f"{n_images} images" in line
    assert _counts(clean_db) == (0, 0)
    assert _import(clean_db, other, YEAR).startswith("parcels: imported")
    _catalogue(clean_db, other)
    with connect(clean_db) as c:
        pending = c.execute("SELECT count(*) AS n FROM extraction_jobs "
                            "WHERE status = 'pending'").fetchone()["n"]
    assert _counts(clean_db) == (1, n_images) and pending == n_images  # the new build gets extracted

    with connect(clean_db) as c:
        c.execute("DELETE FROM parcel_sets")
        c.commit()
    foreign = tmp_path / "agency.gpkg"
    foreign.write_bytes(other.parcels_path.read_bytes())
    import_parcels(clean_db, foreign, aoi="demo", year=YEAR, skip_invalid=True)
    with pytest.raises(CbmError, match="was not imported by `cbm demo run`"):
        list(_forget_other_build(clean_db, other, YEAR))
    assert _counts(clean_db) == (1, n_images)  # refused: nothing removed
