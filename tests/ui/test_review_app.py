"""The decision workstation in Chromium: queue, select, review, reload, next parcel, download, shared URL.

Runs against the demo area in the project database (as ``test_apps``). The reviews it stores
carry a marker comment and are deleted afterwards (and the queue rebuilt), so the demo set is
left as it was.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from apitools import Server
from uitools import LOAD_MS, Watched, clipped_buttons, delete_reviews, open_app

from cbm_widgets.map_layers import DECISION_COLOURS

pytestmark = pytest.mark.slow
MAP = (".leaflet-container",)  # what open_app waits for here
DEMO = "aoi=demo&year=2025"
MARK = "ui-test review (deleted after the test)"


@pytest.fixture()
def cleanup(demo_api: Server) -> Iterator[None]:
    """Delete this test's reviews and let the queue rebuild, whatever the test did."""
    yield
    delete_reviews(demo_api.settings, MARK)


def _card_pid(w: Watched) -> str:
    return w.page.locator(".cbm-card .cbm-pid").first.inner_text()


def test_queue_review_reload_next_download_share(voila: str, watched: Watched, cleanup: None) -> None:
    page = watched.page
    open_app(watched, voila, "review", DEMO, MAP)
    page.locator(".cbm-queue .cbm-row").first.wait_for(timeout=LOAD_MS)
    assert "parcels" in page.locator(".cbm-page-label").inner_text()
    # the map shows the filtered page in its decision colours (worst first: red)
    page.locator(f'.cbm-map path[fill="{DECISION_COLOURS["red"]}"]').first.wait_for(timeout=LOAD_MS)
    first = page.locator(".cbm-queue .cbm-row-pid").first.inner_text()
    page.locator(".cbm-queue .cbm-row-pid").first.click()
    page.locator(".cbm-card .cbm-pid", has_text=first).wait_for(timeout=LOAD_MS)
    page.locator(".cbm-timeseries .cbm-caption", has_text=first).wait_for(timeout=LOAD_MS)
    # review: an override needs a reason; then it is saved and shown
    page.locator(".cbm-review-green").click()
    page.locator(".cbm-review .cbm-error", has_text="reason").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-review-reason textarea").fill("mown on 2 July: visible on the chips")
    page.locator(".cbm-review-comment textarea").fill(MARK)
    t0 = time.monotonic()
    page.locator(".cbm-review-green").click()
    page.locator(".cbm-review-history", has_text="mown on 2 July").wait_for(timeout=LOAD_MS)
    saved_s = time.monotonic() - t0
    page.locator(".cbm-review-saved", has_text="Saved").wait_for(timeout=LOAD_MS)
    watched.shot("review-saved")
    # the URL follows the selected parcel; reloading it shows the stored review
    page.wait_for_function("pid => location.search.includes('parcel_id=' + pid)", arg=first, timeout=LOAD_MS)
    shared = page.url
    assert parse_qs(urlsplit(shared).query)["parcel_id"] == [first]
    page.reload(timeout=LOAD_MS)
    page.locator(".cbm-card .cbm-pid", has_text=first).wait_for(timeout=LOAD_MS)
    page.locator(".cbm-review-history", has_text="mown on 2 July").wait_for(timeout=LOAD_MS)
    # next parcel: button, then keyboard over the list
    page.locator(".cbm-queue .cbm-row").first.wait_for(timeout=LOAD_MS)
    page.locator(".cbm-next-parcel").click()
    page.wait_for_function("pid => document.querySelector('.cbm-card .cbm-pid')?.textContent !== pid",
                           arg=first, timeout=LOAD_MS)
    second = _card_pid(watched)
    page.locator(".cbm-queue .cbm-row").nth(2).hover()
    page.keyboard.press("n")
    page.wait_for_function("pid => document.querySelector('.cbm-card .cbm-pid')?.textContent !== pid",
                           arg=second, timeout=LOAD_MS)
    third = _card_pid(watched)
    assert len({first, second, third}) == 3
    page.locator(".cbm-queue .cbm-row-current").first.wait_for(timeout=LOAD_MS)
    # download from the card: the file name carries aoi, year and pid
    page.locator(".cbm-download-csv").click()
    link = page.locator(".cbm-download-link")
    link.wait_for(timeout=LOAD_MS)
    with page.expect_download(timeout=LOAD_MS) as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"demo_2025_{third}_decisions.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("pid,") and all(line.startswith(third + ",")
                                                           for line in text.splitlines()[1:])
    # the shared URL opens the same parcel in a new page
    other = page.context.new_page()
    other.goto(shared, timeout=LOAD_MS)
    other.locator(".cbm-card .cbm-pid", has_text=first).wait_for(timeout=LOAD_MS)
    other.locator(".cbm-timeseries .cbm-caption", has_text=first).wait_for(timeout=LOAD_MS)
    other.close()
    assert clipped_buttons(watched) == []  # issue 21 item 10: at 400 px no button label is cut
    watched.check()
    print(f"review saved and shown in {saved_s:.2f} s")


def test_links_keep_the_parcel_and_bad_pid_is_one_message(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "parcel_lookup", f"{DEMO}&parcel_id=P000007", MAP)
    page.locator(".cbm-card .cbm-pid", has_text="P000007").wait_for(timeout=LOAD_MS)
    page.get_by_text("Parcel set").first.wait_for(timeout=LOAD_MS)
    href = page.locator(".cbm-nav-timeseries").get_attribute("href") or ""
    assert re.search(r"timeseries\.ipynb\?aoi=demo&year=2025&parcel_id=P000007", href), href
    page.locator(".cbm-nav-timeseries").click()
    page.locator(".cbm-timeseries .cbm-caption", has_text="P000007").wait_for(timeout=LOAD_MS)
    open_app(watched, voila, "parcel_lookup", f"{DEMO}&parcel_id=NO-SUCH", MAP)
    page.locator(".cbm-error", has_text="No parcel 'NO-SUCH'").wait_for(timeout=LOAD_MS)
    page.wait_for_timeout(1500)  # give other widgets the time to (wrongly) add theirs
    assert page.locator(".cbm-error").count() == 1
    # an unknown parcel set: one message naming it and the sets the user may read
    open_app(watched, voila, "parcel_lookup", "aoi=nosuch&year=2025&parcel_id=P000007", MAP)
    page.locator(".cbm-error", has_text="No parcel set 'nosuch'").wait_for(timeout=LOAD_MS)
    page.wait_for_timeout(1500)
    assert page.locator(".cbm-error").count() == 1
    assert "demo" in page.locator(".cbm-error").inner_text()  # the readable sets are named
    # an unknown condition: one message naming the set's conditions; the queue still loads
    open_app(watched, voila, "review", f"{DEMO}&condition=no_such", MAP)
    page.locator(".cbm-error", has_text="No condition 'no_such' in demo 2025").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-queue .cbm-row").first.wait_for(timeout=LOAD_MS)
    page.wait_for_timeout(1500)
    assert page.locator(".cbm-error").count() == 1
    open_app(watched, voila, "index", "", ())  # the landing page has no map
    page.locator(".cbm-sets a[href*='review.ipynb?aoi=demo']").first.wait_for(timeout=LOAD_MS)
    assert clipped_buttons(watched) == []
    watched.check()
