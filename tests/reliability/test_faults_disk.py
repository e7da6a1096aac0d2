"""A full ``var/`` disk: a 256 KiB tmpfs mounted as ``var_dir`` and filled up (root only; skipped
otherwise). Extraction writes no temporary files there and must still give the fault-free rows;
a parcel import whose report cannot be written fails with ENOSPC and leaves the database as it
was; the chip cache leaves no partial temporary file behind. The mount is always removed.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from relscene import AOI, YEAR, checksum, load_local, record

from backend.chips.cache import write_atomic
from backend.db import connect
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings

TABLES = ("parcel_sets", "parcels", "extraction_jobs", "images", "signatures")


@pytest.fixture()
def full_var(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "var-full"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test (needs root): {done.stderr.strip()}")
    try:
        with open(mnt / "filler", "wb") as fh:
            try:
                while True:
                    fh.write(b"\0" * 65536)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _counts(s: Settings) -> dict[str, int]:
    with connect(s) as conn:
        return {t: conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}


def test_full_var_disk(clean_db: Settings, baseline, full_var: Path) -> None:
    s = Settings(**{**clean_db.model_dump(), "var_dir": full_var})
    with pytest.raises(OSError) as info:
        import_parcels(s, baseline.root / "parcels.gpkg", aoi=AOI, year=YEAR)
    assert info.value.errno == errno.ENOSPC
    assert _counts(s) == dict.fromkeys(TABLES, 0)
    with pytest.raises(OSError):
        write_atomic(full_var / "chips" / "x.png", b"\x89PNG" + b"\0" * 300_000)
    assert not [p.name for p in (full_var / "chips").iterdir()]  # no partial temporary file
    load_local(clean_db, baseline.root)  # report on the normal var_dir
    report = extract(s, aoi=AOI, year=YEAR)
    got = checksum(s)
    record("fault", fault="var-disk-full", injected=3, survived=got == baseline.checksum,
           lost=baseline.checksum["n"] - got["n_distinct"], duplicated=got["n"] - got["n_distinct"])
    assert (report.done, report.failed) == (3, 0)
    assert got == baseline.checksum
