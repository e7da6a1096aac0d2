"""The blind QA inspection dashboard in Chromium (issue 25): landing page, sample, inspection, next unit.

A dedicated consumer (``USER``, granted ``demo``) inspects a small sample of its own over the demo
area's decisions, through a Voilà of its own that serves the landing page and the inspection app
with that user's credentials: the session's Voilà runs as admin, whom an assignment would blind
for the other browser tests (and for other processes sharing the demo database). The sample and
the user are deleted afterwards, so the demo set is left as it was.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
import serve
from apitools import Server
from procs import free_port, running
from uitools import LOAD_MS, Watched, open_app

from backend import accounts
from backend.db import connect
from backend.parcels.sets import ParcelSetKey
from backend.qa import inspectors
from backend.qa.samples import draw_sample
from backend.qa.sampling import SampleSpec

pytestmark = pytest.mark.slow
USER, PASSWORD = "qa-ui-inspector", "qa-ui-inspector-pass-1"
KEY = ParcelSetKey("demo", 2025)
CASE_PID = ".cbm-qa-case .cbm-pid"


def _clip() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "olive").save(buf, "JPEG")
    return buf.getvalue()


CLIP = _clip()


def _drop(conn: Any) -> None:
    conn.execute("DELETE FROM qa_samples WHERE created_by = 'ui-test qa'")
    conn.execute("DELETE FROM users WHERE username = %s", (USER,))


@pytest.fixture(scope="module")
def inspection(demo_api: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, list]]:
    """(Voilà URL, sample id, the sample's units in pid order with their colours) for ``USER``."""
    s = demo_api.settings
    with connect(s, autocommit=True) as conn:
        _drop(conn)
        accounts.add_user(conn, USER, PASSWORD, "consumer")
        accounts.grant_aoi(conn, USER, "demo")
        sid = int(draw_sample(conn, KEY, SampleSpec(("grassland_mown",), size=3, seed=2025),
                              created_by="ui-test qa")["id"])
        inspectors.assign(conn, KEY, sid, [USER])
        units = conn.execute("SELECT p.pid, u.colour FROM qa_units u JOIN parcels p ON p.set_id = u.set_id "
                             "AND p.id = u.parcel_id WHERE u.sample_id = %s ORDER BY p.pid",
                             (sid,)).fetchall()
    apps = tmp_path_factory.mktemp("qa-apps")  # only the two apps; a kernel per page, no pool to refill
    for name in ("index.ipynb", "qa_inspection.ipynb"):
        shutil.copy(serve.APPS / name, apps / name)
    port = free_port()
    env = serve.environment(serve.ROOT / "var", {**os.environ, "CBM_API_URL": demo_api.url,
                                                 "CBM_API_USER": USER, "CBM_API_PASSWORD": PASSWORD})
    url = f"http://127.0.0.1:{port}"
    try:
        cmd = serve.command(port, notebooks=apps, preheat=False)
        with running(cmd, url, "Voilà", env=env, cwd=serve.ROOT, log=apps / "voila.log", grace_s=10):
            yield url, sid, units
    finally:
        with connect(s, autocommit=True) as conn:
            _drop(conn)


def test_landing_page_blind_inspection_next_unit(demo_api: Server, inspection: tuple[str, int, list],
                                                 watched: Watched) -> None:
    url, sid, units = inspection
    page = watched.page
    t0 = time.monotonic()
    open_app(watched, url, "index", "", ())
    link = page.locator(".cbm-index-qa", has_text=f"QA inspection (sample {sid}: 3 of 3 to inspect)")
    link.wait_for(timeout=LOAD_MS)
    link.click()
    first, colour = units[0]["pid"], units[0]["colour"]
    t1 = time.monotonic()
    page.locator(CASE_PID, has_text=first).wait_for(timeout=LOAD_MS)  # the first open unit is selected
    t2 = time.monotonic()
    page.locator(".cbm-qa-banner", has_text="SYNTHETIC demo data").wait_for(timeout=LOAD_MS)
    assert f"sample={sid}" in page.url
    # blind: nothing on the page tells the system's colour before the verdict is saved
    result = page.locator(".cbm-qa-result")
    assert "shown once your verdict is saved" in result.inner_text()
    assert page.locator(".cbm-qa-colour").count() == 0
    shown = page.locator(".cbm-qa").inner_text().lower()
    assert "system decision" not in shown and not {"green", "yellow", "red"} & set(shown.split())
    # the review workstation's case file, blind: the parcel, no decision, no download that carries one
    page.locator(".cbm-card .cbm-pid", has_text=first).wait_for(timeout=LOAD_MS)
    assert page.locator(".cbm-card .cbm-blind").is_visible()
    assert page.locator(".cbm-card .cbm-decision").count() == 0
    assert not page.locator(".cbm-downloads").is_visible()
    watched.shot("qa_inspection-blind")
    # record with an attached VHR clip: the answer reveals the decision of this unit only
    with page.expect_file_chooser() as chooser:  # the upload button opens the browser's file chooser
        page.locator(".cbm-qa-files").click()
    chooser.value.set_files(files=[{"name": "vhr clip.jpg", "mimeType": "image/jpeg", "buffer": CLIP}])
    page.locator(".cbm-qa-files", has_text="(1)").wait_for(timeout=LOAD_MS)  # the widget holds the file
    page.locator(".cbm-qa-truth button").first.click()  # compliant
    page.locator(".cbm-qa-save").click()
    page.locator(".cbm-qa-colour", has_text=colour).wait_for(timeout=LOAD_MS)
    page.locator(".cbm-qa-banner", has_text="1 of 3 units inspected").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-card .cbm-decision").first.wait_for(timeout=LOAD_MS)  # the card reveals it too
    assert page.locator(".cbm-card .cbm-blind").count() == 0
    evidence = page.locator(".cbm-qa-evidence select")
    evidence.wait_for(timeout=LOAD_MS)
    assert "vhr_clip.jpg" in evidence.inner_text()
    watched.shot("qa_inspection-saved")
    # next unit: another parcel, blind again
    page.locator(".cbm-qa-next").click()
    page.locator(CASE_PID, has_text=units[1]["pid"]).wait_for(timeout=LOAD_MS)
    page.locator(".cbm-qa-result", has_text="shown once your verdict is saved").wait_for(timeout=LOAD_MS)
    assert page.locator(".cbm-qa-colour").count() == 0
    with connect(demo_api.settings, autocommit=True) as conn:
        stored = conn.execute("SELECT p.pid, i.truth, i.recorded_by FROM qa_inspections i JOIN qa_units u "
                              "USING (sample_id, parcel_id, condition) JOIN parcels p ON p.set_id = u.set_id "
                              "AND p.id = u.parcel_id WHERE i.sample_id = %s", (sid,)).fetchall()
        files = conn.execute("SELECT a.filename, a.media_type, a.bytes FROM qa_attachments a "
                             "JOIN qa_inspections i ON i.id = a.inspection_id WHERE i.sample_id = %s",
                             (sid,)).fetchall()
    assert stored == [{"pid": first, "truth": "compliant", "recorded_by": USER}]
    assert files == [{"filename": "vhr_clip.jpg", "media_type": "image/jpeg", "bytes": len(CLIP)}]
    watched.check()
    print(f"landing page {t1 - t0:.1f} s, inspection app {t2 - t1:.1f} s, rest {time.monotonic() - t2:.1f} s")
