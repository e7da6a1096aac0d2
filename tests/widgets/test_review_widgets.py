"""The decision workstation at the traitlet level, against the real API: review panel, card, plain words.

Parcel A of the tiny area is red for ``mown_once``, B green; C has no decision.
"""

from __future__ import annotations

import base64
import re
from datetime import date

import bqplot as bq
from apitools import PASSWORDS, Server

from cbm_widgets import CbmClient, ParcelCard
from cbm_widgets.plain import condition_name, plain_reason, window_of, window_text
from cbm_widgets.timeseries_marks import event_spans


def test_review_panel_records_and_shows_history(client: CbmClient) -> None:
    card = ParcelCard(client, aoi="tt", year=2025, parcel_id="A")
    panel = card.review
    assert panel.layout.display is None and panel.condition == "mown_once"
    assert [v for _, v in panel.picker.options] == ["mown_once"]
    before = len(panel.history)
    override_green = panel.buttons[1]
    override_green.click()  # no reason typed: refused in the panel, nothing sent
    assert "reason" in panel.error and len(panel.history) == before
    panel.reason.value, panel.comment.value = "mown on 20 June, visible on the chip", "checked by phone"
    override_green.click()
    assert panel.error == "" and "Saved" in panel.saved.value
    newest = panel.history[0]
    assert (newest["verdict"], newest["colour"], newest["reason"], newest["reviewer"]) == (
        "override", "green", "mown on 20 June, visible on the chip", "consumer")
    assert "checked by phone" in panel.list.value and "overridden to" in panel.list.value
    assert panel.reason.value == "" and panel.last_saved_ms > 0
    assert card.colour == "red"  # the automatic decision is unchanged
    # a new card (a reload) shows the stored review
    again = ParcelCard(client, aoi="tt", year=2025, parcel_id="A")
    assert again.review.history[0]["id"] == newest["id"]
    assert "mown on 20 June" in again.review.list.value


def test_review_panel_hidden_without_decisions_and_refused_without_grant(widget_api: Server,
                                                                         client: CbmClient) -> None:
    card = ParcelCard(client, aoi="tt", year=2025, parcel_id="C")
    assert card.review.layout.display == "none" and "No decision yet" in card.decisions.value
    outsider = CbmClient(widget_api.url, "outsider", PASSWORDS["outsider"])
    panel = ParcelCard(outsider, aoi="tt", year=2025, parcel_id="A").review
    assert panel.error.startswith("no access to AOI 'tt'")
    panel.condition = "mown_once"
    panel.submit("confirm")
    assert panel.error.startswith("no access to AOI 'tt'") and "Saved" not in panel.saved.value


def test_card_downloads_carry_the_pid(client: CbmClient) -> None:
    card = ParcelCard(client, aoi="tt", year=2025, parcel_id="B")
    for button, name in zip(card.download_buttons, ("tt_2025_B_decisions.csv", "tt_2025_B_decisions.gpkg",
                                                    "tt_2025_B_evidence.html"), strict=True):
        button.click()
        link = card.download_link.value
        assert f'download="{name}"' in link, link
        data = base64.b64decode(re.search(r"base64,([^\"]+)", link).group(1))
        assert data, name
        if name.endswith(".csv"):
            assert data.decode().splitlines()[1].startswith("B,1,Wheat")
        if name.endswith(".gpkg"):
            assert data.startswith(b"SQLite format 3")
        if name.endswith(".html"):
            assert b"Parcel B" in data


def test_plain_words_and_window() -> None:
    assert condition_name("grassland_mown") == "Grassland mown in the window"
    assert condition_name("gaec_6_cover") == "Gaec 6 cover"
    assert plain_reason("1 mowing event(s) found in the window (day 193); 1 required", 2025) == (
        "1 mowing event(s) found in the window (12 Jul 2025); 1 required")
    assert date(2025, 7, 12).timetuple().tm_yday == 193  # the expected date, independently
    assert plain_reason("possible one (day 1, 32)", 2024) == "possible one (1 Jan 2024, 1 Feb 2024)"
    record = {"condition": "grassland_mown", "colour": "red",
              "evidence": {"condition": {"window": ["2025-06-01", "2025-08-15"]}}}
    assert window_of(record) == ("2025-06-01", "2025-08-15")
    assert window_text(record) == "1 Jun 2025 – 15 Aug 2025"
    assert window_of({"evidence": {"window": ["2025-05-01", "2025-05-31"]}}) == ("2025-05-01", "2025-05-31")
    assert window_of({"evidence": {"condition": {"window": None}}}) is None


def test_condition_window_is_drawn() -> None:
    record = {"marker": "window", "condition": "grassland_mown", "colour": "red",
              "evidence": {"condition": {"window": ["2025-06-01", "2025-08-15"]}}}
    event = {"marker": "mowing", "start_date": "2025-07-03", "end_date": "2025-07-05", "confidence": 0.94}
    marks = event_spans([record, event], bq.DateScale(), bq.LinearScale())
    spans = [m for m in marks if isinstance(m, bq.Lines)]
    labels = [m.text[0] for m in marks if isinstance(m, bq.Label)]
    assert len(spans) == 2
    assert str(spans[0].x[0])[:10] == "2025-06-01" and str(spans[0].x[-1])[:10] == "2025-08-15"
    assert labels == ["Grassland mown in the window (red): window 1 Jun 2025 – 15 Aug 2025",
                      "mowing 3 Jul 2025 – 5 Jul 2025 (94%)"]
    assert spans[0].colors != spans[1].colors


def test_queue_filters_sorts_pages_and_steps(client: CbmClient) -> None:
    from cbm_widgets import ParcelMap, ReviewQueue, link

    queue, m = ReviewQueue(client, page_size=1), ParcelMap(client)
    link(m, queue)
    m.aoi, m.year = "tt", 2025
    assert queue.error == "" and queue.total == 2 and [r["pid"] for r in queue.rows] == ["A"]
    assert [v for _, v in queue.condition_picker.options] == ["", "mown_once"]
    # the map shows the page's parcels in their colour
    shown = m.highlight_layer.data["features"]
    assert [(f["properties"]["pid"], f["properties"]["colour"]) for f in shown] == [("A", "red")]
    queue.next_parcel.click()  # nothing selected: the first parcel of the page
    assert m.parcel_id == "A" and "cbm-row-current" in queue.table.children[0]._dom_classes
    queue.next_parcel.click()  # the next one is on the next page: the page follows
    assert m.parcel_id == "B" and queue.page == 1 and [r["pid"] for r in queue.rows] == ["B"]
    queue.next_parcel.click()
    assert m.parcel_id == "B" and queue.error == "End of the queue: no next parcel."
    queue._key({"type": "keydown", "key": "k"})  # keyboard: previous
    assert m.parcel_id == "A" and queue.page == 0 and queue.error == ""
    queue.order.value = True  # reverse the worst-first order
    assert [r["pid"] for r in queue.rows] == ["B"]
    queue.order.value, queue.crop_box.value = False, "maiz"
    assert queue.total == 0 and m.highlight_layer.data["features"] == []
    queue.crop_box.value, queue.colour_picker.value = "WHE", "green"
    assert [r["pid"] for r in queue.rows] == ["B"] and queue.total == 1
    queue.colour_picker.value, queue.sort_picker.value = "", "area"
    assert [r["pid"] for r in queue.rows] == ["B"]  # B (8 x 8 pixels of 10 m) is smaller than A (10 x 8)


def test_navigation_links_keep_the_parcel_and_url_follows(client: CbmClient) -> None:
    from cbm_widgets import ParcelMap, link
    from cbm_widgets.nav import Navigation, index_html

    m, nav = ParcelMap(client), Navigation(client, "review", extra="aoi=x&theme=dark&token=secret")
    link(m, nav)
    m.aoi, m.year = "tt", 2025
    m.find("B")
    assert 'href="parcel_lookup.ipynb?aoi=tt&amp;year=2025&amp;parcel_id=B&amp;theme=dark"' in nav.links.value
    assert "token" not in nav.links.value and "Review queue</b>" in nav.links.value
    assert "history.replaceState" in nav.sync.value
    assert "?aoi=tt&amp;year=2025&amp;parcel_id=B&amp;theme=dark" in nav.sync.value
    assert "Parcel set <b>tt 2025</b>" in nav.title.value and "parcel <b>B</b>" in nav.title.value
    page = index_html(client.info())
    assert page.count("<li") == 1 and 'href="review.ipynb?aoi=tt&amp;year=2025"' in page


def test_bad_deep_link_gives_one_message(client: CbmClient) -> None:
    from cbm_widgets import ParcelMap, TimeSeriesChart, deep_link, link, start

    state = deep_link(client, "aoi=qq&year=2025&parcel_id=A")
    assert state["error"] == "No parcel set 'qq' you may read (yours: tt)." and state["aoi"] == ""
    assert deep_link(client, "aoi=tt&year=2031")["error"] == "No tt parcel set for 2031 (years: 2025)."
    m, card, chart = ParcelMap(client), ParcelCard(client), TimeSeriesChart(client)
    link(m, card, chart)
    start(m, deep_link(client, "aoi=tt&year=2025&parcel_id=NOPE"))
    m.map.set_trait("bounds", ((0.0, 0.0), (0.0, 0.0)))  # the browser drew the map
    assert m.error == "No parcel 'NOPE' in tt 2025." and m.parcel_id == ""
    assert card.error == chart.error == ""  # said once, on the map
