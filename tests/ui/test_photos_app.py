"""Geotagged photos in Chromium (issue 26): upload through the API, see the thumbnail in the parcel
card, open it at full size, cite it in a review, reload and see it cited.

Runs against the demo area in the project database (as ``test_review_app``). The photo and the
review it stores are deleted afterwards (files too), so the demo set is left as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from apitools import Server
from phototools import jpeg
from uitools import LOAD_MS, Watched, open_app

from backend.db import connect
from backend.photos.store import photo_store
from backend.settings import DEMO_ADMIN_PASSWORD
from cbm_widgets import CbmClient

pytestmark = pytest.mark.slow
MARK = "ui-test photo review (deleted after the test)"


@pytest.fixture()
def photo(demo_api: Server) -> Iterator[dict[str, Any]]:
    """A photo POSTed into a demo parcel that has decisions; removed with its review afterwards."""
    with connect(demo_api.settings) as conn:
        pid = conn.execute("SELECT p.pid FROM decisions d JOIN parcels p ON p.set_id = d.set_id AND "
                           "p.id = d.parcel_id JOIN parcel_sets s ON s.id = d.set_id WHERE s.aoi = 'demo' "
                           "AND s.year = 2025 ORDER BY p.pid LIMIT 1").fetchone()["pid"]
    parcel = CbmClient(demo_api.url, "admin", DEMO_ADMIN_PASSWORD).parcel("demo", 2025, pid)
    seed = int.from_bytes(os.urandom(4))  # new content each run: never a duplicate of a leftover
    data = jpeg(lonlat=(parcel.lon, parcel.lat), bearing=45, seed=seed, size=(800, 600))
    with demo_api.client("admin") as c:
        r = c.post("/photos", files={"file": ("field.jpg", data, "image/jpeg")},
                   data={"aoi": "demo", "year": "2025", "pid": pid})
    assert r.status_code == 201, r.text
    try:
        yield r.json()
    finally:
        with connect(demo_api.settings, autocommit=True) as conn:
            runs = conn.execute("DELETE FROM reviews WHERE comment = %s RETURNING run_id", (MARK,)).fetchall()
            conn.execute("DELETE FROM review_queue_builds WHERE run_id = ANY(%s)",
                         (list({x["run_id"] for x in runs}),))
            keys = conn.execute("DELETE FROM photos WHERE id = %s RETURNING original_key, thumb_key",
                                (r.json()["id"],)).fetchone()
        store = photo_store(demo_api.settings)
        for key in keys.values() if keys else ():
            store.delete(key)


def test_photo_thumbnail_full_size_cited_in_a_review_and_kept_after_reload(
        voila: str, watched: Watched, photo: dict[str, Any]) -> None:
    page, pid, pk = watched.page, photo["pid"], photo["id"]
    open_app(watched, voila, "review", f"aoi=demo&year=2025&parcel_id={pid}", (".leaflet-container",))
    page.locator(".cbm-card .cbm-pid", has_text=pid).wait_for(timeout=LOAD_MS)
    thumb = page.locator(f".cbm-photo-{pk} .cbm-photo-thumb")
    thumb.wait_for(timeout=LOAD_MS)
    page.wait_for_function("el => el.complete && el.naturalWidth === 512", arg=thumb.element_handle(),
                           timeout=LOAD_MS)  # the 800 x 600 photo's thumbnail, decoded by the browser
    assert "position" in page.locator(f".cbm-photo-{pk} .cbm-photo-checks").inner_text()
    # the map draws the photo: a point and its direction wedge
    page.locator('.cbm-map path[fill="#6a1b9a"]').nth(1).wait_for(timeout=LOAD_MS)
    page.locator(f".cbm-photo-{pk} .cbm-photo-full").click()
    original = page.locator("img.cbm-photo-original")
    original.wait_for(timeout=LOAD_MS)
    page.wait_for_function("el => el.complete && el.naturalWidth === 800", arg=original.element_handle(),
                           timeout=LOAD_MS)
    # cite it in a verdict
    page.locator(f".cbm-cite-photo-{pk} input").check()
    page.locator(".cbm-review-comment textarea").fill(MARK)
    page.locator(".cbm-review-confirm").click()
    page.locator(".cbm-review-saved", has_text=f"citing photo {pk}").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-review-history", has_text=f"cites photo {pk}").wait_for(timeout=LOAD_MS)
    watched.shot("photo-cited")
    page.reload(timeout=LOAD_MS)
    page.locator(".cbm-card .cbm-pid", has_text=pid).wait_for(timeout=LOAD_MS)
    page.locator(".cbm-review-history", has_text=f"cites photo {pk}").wait_for(timeout=LOAD_MS)
    page.locator(f".cbm-photo-{pk} .cbm-photo-thumb").wait_for(timeout=LOAD_MS)
    watched.check()
