"""A new selection changes the widgets' values, not the widgets; the client asks once per page.

Against the real API of the widget tests (parcels A-D of ``tt``, two S2 dates; B cloudy on the
second). Each new bqplot mark or chip card is a new widget that the browser must build (and that
stayed alive on both sides), so a click on another parcel reuses them; the values they show are
checked against what the API gives for that parcel.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import bqplot as bq
import requests
from apitools import PASSWORDS, Server

from cbm_widgets import CbmClient, ChipGallery, ParcelCard, ParcelMap, TimeSeriesChart, link


def _clear_dates(client: CbmClient, pid: str) -> list[str]:
    """S2 dates of a parcel straight from the API's time series (all clear for A and C)."""
    frame = client.time_series("tt", 2025, pid, "s2")
    return sorted({d.date().isoformat() for d in frame["date"]})


def test_chart_reuses_its_marks(client: CbmClient) -> None:
    chart = TimeSeriesChart(client, aoi="tt", year=2025, parcel_id="A")
    first = list(chart.figure.marks)
    dots = next(m for m in first if isinstance(m, bq.Scatter) and m.colors != ["#9e9e9e"])
    picked: list[str] = []
    chart.on_date_selected(picked.append)
    chart.parcel_id = "C"
    assert set(map(id, chart.figure.marks)) <= set(map(id, first)) and chart.pool.created == []
    assert [str(d)[:10] for d in dots.x] == _clear_dates(client, "C")  # C's own dates on A's mark
    chart._clicked(dots, {"event": "element_click", "data": {"index": 1}})
    assert picked == [_clear_dates(client, "C")[1]]  # one callback: the handler is wired once
    chart.parcel_id = "B"  # cloudy on its second date: a hollow mark of its own is added
    assert chart.n_cloudy == 1 and len(chart.pool.created) >= 1
    assert dots in chart.figure.marks


def test_gallery_reuses_its_cards(client: CbmClient) -> None:
    gallery = ChipGallery(client, aoi="tt", year=2025, parcel_id="A", start="2025-05-20", window_days=30)
    cards = list(gallery.grid.children)
    gallery.parcel_id = "C"
    gallery.start = "2025-05-20"
    assert list(gallery.grid.children) == cards and gallery.n_chips == 2
    expected = client.parcel_chips("tt", 2025, "C", date(2025, 5, 20), date(2025, 6, 18), size=gallery.size)
    for card, chip in zip(cards, expected, strict=True):
        assert card.button.description == chip.date.isoformat()
        assert bytes(card.image.value) == client.fetch_bytes(chip.url)  # C's outlined chip, not A's
    card = cards[0]
    card.button.click()
    assert gallery.date == expected[0].date.isoformat()


def _counting(widget_api: Server, **kwargs: Any) -> tuple[CbmClient, Counter[str]]:
    asked: Counter[str] = Counter()
    session = requests.Session()
    session.hooks["response"].append(lambda r, *_a, **_k: asked.update([urlsplit(r.url).path]))
    return CbmClient(widget_api.url, "consumer", PASSWORDS["consumer"], session=session, **kwargs), asked


def test_one_selection_asks_for_the_parcel_and_its_decisions_once(widget_api: Server) -> None:
    client, asked = _counting(widget_api)
    m, chart, card = ParcelMap(client), TimeSeriesChart(client), ParcelCard(client)
    gallery = ChipGallery(client)
    link(m, chart, card, gallery)
    m.aoi, m.year = "tt", 2025
    asked.clear()
    m.find("A")
    assert card.colour == "red" and chart.n_observations == 2 and gallery.n_strip == 2
    assert asked["/query/parcelByID"] == 1 and asked["/parcels/decisions"] == 1
    # a POST (here a review) forgets them: what it changed is asked again
    client.review("tt", 2025, "A", "mown_once", "confirm", comment="test_widget_reuse")
    client.decisions("tt", 2025, "A")
    assert asked["/parcels/decisions"] == 2
    # recent_s=0: every widget asks
    fresh, asked = _counting(widget_api, recent_s=0)
    for _ in range(3):
        assert fresh.decisions("tt", 2025, "A")["colour"] == "red"
    assert asked["/parcels/decisions"] == 3


def test_condition_from_the_link_filters_the_queue_and_follows_into_the_url(client: CbmClient) -> None:
    from cbm_widgets import ReviewQueue, deep_link, start
    from cbm_widgets.nav import Navigation

    m, queue, gallery = ParcelMap(client), ReviewQueue(client), ChipGallery(client)
    nav = Navigation(client, "review", extra="")
    link(m, queue, gallery, nav)
    start(m, deep_link(client, "aoi=tt&year=2025&condition=mown_once"))
    m.map.set_trait("bounds", ((0.0, 0.0), (0.0, 0.0)))  # the browser drew the map
    assert queue.condition == gallery.condition == "mown_once" and queue.condition_picker.value == "mown_once"
    assert queue.total == len({r["pid"] for r in queue.rows}) > 0 and not queue.error
    assert "condition=mown_once" in nav.query()
    queue.condition_picker.value = ""  # the user clears the filter: the URL follows
    assert "condition" not in nav.query()
