"""Widgets at the traitlet level against the real API: selection, linking, dates, errors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import bqplot as bq
from apitools import PASSWORDS, Server, lonlat

from cbm_widgets import (
    CbmClient,
    ChipGallery,
    MarkerExplorer,
    ParcelCard,
    ParcelMap,
    PeersPanel,
    TimeSeriesChart,
    dashboard,
    deep_link,
    link,
    query_params,
    start,
)
from cbm_widgets import map_layers as ml
from cbm_widgets.models import Chip


def _map(client: CbmClient) -> ParcelMap:
    return ParcelMap(client, aoi="tt", year=2025)


def test_search_selects_and_fires_callbacks(client: CbmClient) -> None:
    m = _map(client)
    seen: list[str] = []
    m.on_parcel_selected(seen.append)
    m.search.value = "B"  # what Enter does in the browser
    assert (m.parcel_id, m.error, seen) == ("B", "", ["B"])
    assert m.selected_layer.data["features"][0]["properties"]["pid"] == "B"
    assert m.peers == ["A", "C"] or m.peers == ["A"]  # peers within 1 km, nearest first
    lon, lat = lonlat("D")
    m.find(f"{lat}, {lon}")
    assert m.parcel_id == "D" and seen == ["B", "D"]
    m.on_parcel_selected(seen.append, remove=True)
    m.find("A")
    assert seen == ["B", "D"]


def test_unknown_parcel_shows_message_and_keeps_selection(client: CbmClient) -> None:
    m = _map(client)
    m.find("A")
    m.find("no-such-parcel")
    assert m.parcel_id == "A"
    assert m.error == "No parcel 'no-such-parcel' in tt 2025."
    assert "cbm-error" in m.status.value and "Traceback" not in m.status.value


def test_map_click_selects_parcel(client: CbmClient) -> None:
    m = _map(client)
    lon, lat = lonlat("C")
    m._interaction(type="click", coordinates=[lat, lon])
    assert m.parcel_id == "C"


def test_chart_loads_series_cloud_and_events(client: CbmClient) -> None:
    chart = TimeSeriesChart(client, aoi="tt", year=2025, parcel_id="B")
    assert (chart.n_observations, chart.n_cloudy, chart.error) == (2, 1, "")
    assert chart.dates() == ["2025-06-01", "2025-06-11"]
    chart.parcel_id = "A"
    assert chart.n_cloudy == 0
    labels = [m.labels[0] for m in chart.figure.marks if isinstance(m, bq.Lines) and m.labels]
    assert "mowing 5 Jun 2025 – 9 Jun 2025 (90%)" in labels  # type, dates and confidence in words
    texts = [m.text[0] for m in chart.figure.marks if isinstance(m, bq.Label)]
    assert "mowing 5 Jun 2025 – 9 Jun 2025 (90%)" in texts  # drawn on the chart, not only in a tooltip
    dots = [m for m in chart.figure.marks if isinstance(m, bq.Scatter)]
    chart._clicked(dots[0], {"event": "element_click", "data": {"index": 1}})
    assert chart.date == "2025-06-11"


def test_chart_series_picker(client: CbmClient) -> None:
    chart = TimeSeriesChart(client, aoi="tt", year=2025, parcel_id="A", series=["B04", "COH_VV"])
    assert [n for n, b in chart.toggles.items() if b.value] == ["B04", "COH_VV"] and "c6" in chart.tables
    assert not chart.error
    chart.toggles["NDVI"].value = True  # a plain click adds a series, keeping the others
    assert chart.series == ["NDVI", "B04", "COH_VV"]
    chart.toggles["B04"].value = False
    assert chart.series == ["NDVI", "COH_VV"]
    chart.series = ["VH"]
    assert [n for n, b in chart.toggles.items() if b.value] == ["VH"]


def test_link_drives_every_widget(client: CbmClient) -> None:
    m, chart, gallery, card, peers = (ParcelMap(client), TimeSeriesChart(client), ChipGallery(client),
                                      ParcelCard(client), PeersPanel(client))
    link(m, chart, gallery, card, peers)
    start(m, {"aoi": "tt", "year": 2025, "parcel_id": "", "date": ""})
    assert chart.parcel_id == "" and gallery.aoi == ""  # waits for the browser to draw the map
    m.map.set_trait("bounds", ((0.0, 0.0), (0.0, 0.0)))  # what the browser reports after its first render
    assert gallery.aoi == "tt" and chart.year == 2025
    m.find("A")
    assert chart.parcel_id == gallery.parcel_id == card.parcel_id == peers.parcel_id == "A"
    assert chart.n_observations == 2 and card.colour == "red" and peers.n_peers == 2
    chart.select_date("2025-06-11")
    assert m.date == gallery.date == "2025-06-11" and m.overlay.visible
    assert gallery.n_chips >= 1
    assert [c.date.isoformat() for c in gallery.chips if "cbm-chip-selected" in
            gallery.grid.children[gallery.chips.index(c)]._dom_classes] == ["2025-06-11"]


def test_gallery_window_paging_and_lazy_images(client: CbmClient) -> None:
    gallery = ChipGallery(client, aoi="tt", year=2025, parcel_id="A", start="2025-05-20", window_days=30)
    assert gallery.n_chips == 2 and gallery.progress.value == 2
    assert all(bytes(card.children[0].value).startswith(b"\x89PNG") for card in gallery.grid.children)
    assert "cloud" in gallery.grid.children[0].children[2].value
    gallery.next.click()
    assert gallery.start == "2025-06-19" and gallery.n_chips == 0 and "No images" in gallery.error
    gallery.prev.click()
    assert gallery.n_chips == 2 and not gallery.error
    gallery.style = "ndvi"
    assert gallery.n_chips == 2
    gallery.grid.children[0].children[1].click()
    assert gallery.date == "2025-06-01"


def test_gallery_loads_its_images_beside_playwrights_loop(client: CbmClient, cbm_browser: Any) -> None:
    """Playwright's sync API (the browser tests, same process) leaves a loop set as running that
    runs nothing of ours: the chips are still fetched, not queued on it forever."""
    import asyncio

    assert asyncio.get_running_loop().is_running()  # what the browser fixture leaves behind
    gallery = ChipGallery(client, aoi="tt", year=2025, parcel_id="A", start="2025-05-20", window_days=30)
    assert gallery.n_chips == 2 and gallery.progress.value == gallery.progress.max
    assert all(bytes(card.children[0].value).startswith(b"\x89PNG") for card in gallery.grid.children)


def test_card_and_errors_from_client(widget_api: Server) -> None:
    outsider = CbmClient(widget_api.url, "outsider", PASSWORDS["outsider"])
    card = ParcelCard(outsider, aoi="tt", year=2025, parcel_id="A")
    assert card.error.startswith("no access to AOI 'tt'")
    down = CbmClient("http://127.0.0.1:9", "u", "p", timeout=2)
    chart = TimeSeriesChart(down, aoi="tt", year=2025, parcel_id="A")
    assert chart.error == "The CbM service cannot be reached; try again later."
    assert chart.n_observations == 0 and not chart.busy


def test_marker_explorer_counts_and_selection(client: CbmClient) -> None:
    explorer = MarkerExplorer(client, aoi="tt", year=2025)
    assert explorer.error == "" and explorer.total == 2 and "mown_once" in explorer.counts.value
    assert [r["pid"] for r in explorer.rows] == ["A", "B"]  # red first
    explorer.colour = "red"
    assert [r["pid"] for r in explorer.rows] == ["A"] and explorer.rows[0]["reason"]
    explorer.table.children[0].children[0].click()
    assert explorer.parcel_id == "A"
    explorer.colour, explorer.crop = "", "no-such-crop"
    assert explorer.total == 0 and explorer.rows == [] and not explorer.error


def _all_tt_in_view(m: ParcelMap) -> None:
    lons, lats = zip(*(lonlat(p) for p in "ABCD"), strict=True)
    pad = 0.002
    m.map.set_trait("bounds", ((min(lats) - pad, min(lons) - pad), (max(lats) + pad, max(lons) + pad)))


def test_map_colours_parcels_by_decision(client: CbmClient) -> None:
    m = _map(client)
    _all_tt_in_view(m)
    features = {f["properties"]["pid"]: f for f in m.parcels_layer.data["features"]}
    assert set(features) >= {"A", "B", "C", "D"} and features["A"]["properties"]["colour"] == ""
    m.decision_toggle.value = True  # the checkbox on the map
    assert m.colour_by_decision and m.legend.legend == ml.DECISION_LEGEND and not m.error
    assert m.parcels_layer.style == {}  # in the browser a layer style would override the features' styles
    features = {f["properties"]["pid"]: f for f in m.parcels_layer.data["features"]}
    assert {p: features[p]["properties"]["colour"] for p in "ABCD"} == {"A": "red", "B": "green", "C": "",
                                                                        "D": ""}
    assert features["A"]["properties"]["style"]["fillColor"] == ml.DECISION_COLOURS["red"]
    assert features["C"]["properties"]["style"]["fillColor"] == ml.NO_DECISION
    m.colour_by_decision = False
    assert m.legend.legend == ml.LEGEND and all(f["properties"]["colour"] == ""
                                                for f in m.parcels_layer.data["features"])


def test_decision_colours_are_bounded_and_cached(client: CbmClient) -> None:
    m = ParcelMap(client, colour_by_decision=True)
    m.decision_colours.max_rows = 1  # the set has 2 decision rows: only the red one is read
    m.aoi, m.year = "tt", 2025
    _all_tt_in_view(m)
    colours = {f["properties"]["pid"]: f["properties"]["colour"] for f in m.parcels_layer.data["features"]}
    assert colours["A"] == "red" and colours["B"] == "" and m.decision_colours.truncated
    assert "first 1 decisions" in m.error
    assert m.decision_colours.colours("tt", 2025, ["A", "B", "X"]) == {"A": "red"}  # cached, no reload


def test_map_without_parcel_centres_on_the_set(client: CbmClient) -> None:
    m = ParcelMap(client)
    m.aoi, m.year = "tt", 2025
    lon, lat = lonlat("A")
    assert abs(m.map.center[0] - lat) < 0.05 and abs(m.map.center[1] - lon) < 0.05 and m.map.zoom == 15


def test_dashboard_banner_follows_the_hub(client: CbmClient) -> None:
    m = _map(client)
    page = dashboard("Parcel lookup", m, hub=m)
    assert "SYNTHETIC" not in page.children[1].value  # aoi "tt" is not a demo area
    m.aoi = "demo"
    assert "SYNTHETIC DEMO DATA" in page.children[1].value


def test_deep_link(client: CbmClient) -> None:
    assert query_params("aoi=tt&year=2025&pid=A&date=2025-06-11&token=x") == {
        "aoi": "tt", "year": "2025", "parcel_id": "A", "date": "2025-06-11"}
    assert deep_link(client, "parcel_id=B") == {"aoi": "tt", "year": 2025, "parcel_id": "B", "date": "",
                                                  "condition": "", "error": ""}
    assert deep_link(client, "aoi=tt&year=x")["error"].startswith("The year in the link")
    # a condition of the set is kept; an unknown one is left out with one message naming the set's
    assert deep_link(client, "aoi=tt&year=2025&condition=mown_once")["condition"] == "mown_once"
    wrong = deep_link(client, "aoi=tt&year=2025&parcel_id=A&condition=no_such")
    assert (wrong["condition"], wrong["parcel_id"]) == ("", "A")
    assert wrong["error"] == "No condition 'no_such' in tt 2025 (conditions: mown_once)."


def test_season_strip_places_chips_on_the_chart_axis(client: CbmClient) -> None:
    gallery = ChipGallery(client, aoi="tt", year=2025, parcel_id="A")
    # the tiny area has two S2 images (1 and 11 June): fewer than the strip's slots, so both
    assert [c.date.isoformat() for c in gallery.strip_chips] == ["2025-06-01", "2025-06-11"]
    assert gallery.n_strip == 2 and all(c.nodata == 0.0 and c.cloud is not None for c in gallery.strip_chips)
    cards = gallery.strip.children[1:]
    assert all(bytes(card.children[0].value).startswith(b"\x89PNG") for card in cards)
    year_days = (date(2025, 12, 31) - date(2025, 1, 1)).days
    assert cards[0].layout.left == f"{(date(2025, 6, 1) - date(2025, 1, 1)).days / year_days * 100:.3f}%"
    chart = TimeSeriesChart(client)
    link(gallery, chart)  # the strip follows the chart's time axis
    chart.x.min, chart.x.max = datetime(2025, 6, 1), datetime(2025, 6, 30)
    assert (gallery.view_start, gallery.view_end) == ("2025-06-01", "2025-06-30")
    assert cards[0].layout.left == "0.000%" and cards[1].layout.left == f"{10 / 29 * 100:.3f}%"
    chart.x.min = datetime(2025, 6, 5)
    assert cards[0].layout.visibility == "hidden" and cards[1].layout.visibility == "visible"
    cards[1].children[1].click()  # its date button selects the date
    assert gallery.date == chart.date == "2025-06-11"
    assert "cbm-chip-selected" in cards[1]._dom_classes


def test_chip_cloud_words() -> None:
    assert Chip(date(2025, 6, 1), "u", 1.0, 0.0).cloud_text == "100% cloud"
    assert Chip(date(2025, 6, 1), "u", 0.0, 0.375).cloud_text == "0% cloud, 38% no data"
    assert Chip(date(2025, 6, 1), "u", None, 1.0).cloud_text == "no data"
    assert Chip(date(2025, 6, 1), "u").cloud_text == "cloud n/a"


def test_peers_chart_shares_the_charts_time_axis_and_zoomed_labels(client: CbmClient) -> None:
    chart, peers = TimeSeriesChart(client), PeersPanel(client)
    link(chart, peers)
    chart.year = 2025
    chart._reset_zoom()
    assert (peers.x.min, peers.x.max) == (datetime(2025, 1, 1), datetime(2025, 12, 31))
    assert chart.x_axis.tick_format == peers.x_axis.tick_format == "%b"
    assert peers.figure.fig_margin["left"] == chart.figure.fig_margin["left"]
    assert peers.figure.fig_margin["right"] == chart.figure.fig_margin["right"]
    chart.x.min, chart.x.max = datetime(2025, 6, 1), datetime(2025, 7, 15)  # zoomed in: day and month
    assert peers.x.min == datetime(2025, 6, 1) and peers.x.max == datetime(2025, 7, 15)
    assert chart.x_axis.tick_format == peers.x_axis.tick_format == "%d %b"


def test_chip_window_stays_in_the_season(client: CbmClient) -> None:
    gallery = ChipGallery(client, aoi="tt", year=2025, parcel_id="A", start="2025-01-20", window_days=40)
    gallery.prev.click()
    assert gallery.start == "2025-01-01"
    gallery.start = "2025-11-10"
    gallery.next.click()
    assert gallery.start == "2025-11-22"  # the last 40 days of the year
