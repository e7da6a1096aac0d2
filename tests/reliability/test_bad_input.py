"""Broken parcel files and images (``badcorpus``): each is refused with one clear line naming the
file, and the database is unchanged (row counts and a checksum of every table touched).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from badcorpus import IMAGE_DAMAGE, PARCEL_FILES, image_item
from relscene import AOI, YEAR, checksum, load_local, record

from backend.catalogue import add_source
from backend.db import connect
from backend.errors import CbmError, InvalidInput
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings

STATE_SQL = """
SELECT (SELECT count(*) FROM parcel_sets) AS sets, (SELECT count(*) FROM parcels) AS parcels,
       (SELECT count(*) FROM images) AS images, (SELECT count(*) FROM extraction_jobs) AS jobs,
       (SELECT md5(coalesce(string_agg(pid || ST_AsText(geom) || attrs::text, ',' ORDER BY pid), ''))
          FROM parcels) AS parcels_md5,
       (SELECT md5(coalesce(string_agg(item::text, ',' ORDER BY item_id), '')) FROM images) AS images_md5
"""
# Inputs that are usable after all: imported (big but bounded), not refused.
ACCEPTED = {"huge"}


def _state(s: Settings) -> dict:
    with connect(s) as conn:
        return {**conn.execute(STATE_SQL).fetchone(), **checksum(s)}


def _clear(exc: BaseException, name: str) -> bool:
    msg = str(exc)
    return isinstance(exc, CbmError) and name in msg and "\n" not in msg and len(msg) < 500


@pytest.mark.parametrize("kind", list(PARCEL_FILES))
def test_broken_parcel_file_refused_cleanly(clean_db: Settings, baseline, tmp_path: Path, kind: str) -> None:
    load_local(clean_db, baseline.root)  # an existing set that must stay untouched
    path = PARCEL_FILES[kind](tmp_path)
    before = _state(clean_db)
    if kind in ACCEPTED:
        result = import_parcels(clean_db, path, aoi="bad", year=YEAR)
        record("bad_input", input=f"parcels-{kind}", clean=True, outcome="imported")
        assert result.n_imported == 3
        return
    with pytest.raises(Exception) as info:
        import_parcels(clean_db, path, aoi="bad", year=YEAR)
    clean = _clear(info.value, path.name) and _state(clean_db) == before
    record("bad_input", input=f"parcels-{kind}", clean=clean, outcome=str(info.value)[:200])
    assert isinstance(info.value, InvalidInput), repr(info.value)
    assert _clear(info.value, path.name), str(info.value)
    assert _state(clean_db) == before


@pytest.mark.parametrize("damage", list(IMAGE_DAMAGE))
def test_broken_image_rejected_by_catalogue(clean_db: Settings, tmp_path: Path, damage: str) -> None:
    folder = image_item(tmp_path, damage, IMAGE_DAMAGE[damage])
    before = _state(clean_db)
    result = add_source(clean_db, str(folder))
    reasons = " ".join(r.reason for r in result.rejected) if result.rejected else ""
    clean = result.added == 0 and len(result.rejected) == 1 and "B04" in reasons
    record("bad_input", input=f"image-{damage}", clean=clean and _state(clean_db) == before,
           outcome=reasons[:200])
    assert clean, result
    assert _state(clean_db) == before


def test_image_truncated_after_cataloguing_fails_its_job_only(clean_db: Settings, baseline,
                                                              tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "scene"
    shutil.copytree(baseline.root, root)
    load_local(clean_db, root)
    b04 = next((root / "cogs").glob("S2A_*/B04.tif"))
    b04.write_bytes(b04.read_bytes()[:900])
    s = Settings(**{**clean_db.model_dump(), "job_max_attempts": 1})
    report = extract(s, aoi=AOI, year=YEAR)
    got = checksum(s)
    clean = (report.done, report.failed) == (2, 1) and "B04.tif" in report.errors[0][1]
    record("bad_input", input="image-truncated-after-catalogue", clean=clean and got["n"] == 8,
           outcome=report.errors[0][1][:200] if report.errors else "")
    assert clean, report
    assert got["n"] == got["n_distinct"] == 8  # the 2 good images x 4 parcels, nothing partial
