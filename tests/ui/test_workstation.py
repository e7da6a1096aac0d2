"""The decision workstation in Chromium: the map keeps the user's view, the queue's sorts, filters and
moves, the card's downloads, and the peers chart lined up with the main chart.

Runs against the demo area in the project database (as ``test_apps``). What the page shows is
compared with the API's own answer for the same question (never with a hard-coded list). The one
review the filter test stores carries a marker comment and is deleted afterwards (and the queue
rebuilt), so the demo set is left as it was.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyogrio
import pytest
from apitools import Server
from shapely.geometry import shape
from uitools import LOAD_MS, Watched, delete_reviews, open_app

from cbm_widgets.map_layers import DECISION_COLOURS, NO_DECISION, SELECTED
from cbm_widgets.parcel_map import MIN_PARCEL_ZOOM
from cbm_widgets.plain import condition_name
from cbm_widgets.queue import SORTS

pytestmark = pytest.mark.slow
MAP = (".leaflet-container",)  # what open_app waits for here
DEMO = "aoi=demo&year=2025"
QUEUE = "/sets/demo/2025/queue"
PAGE = 20  # the queue widget's page size
MARK = "ui-test workstation review (deleted after the test)"
FILL = {v: k for k, v in DECISION_COLOURS.items()} | {NO_DECISION: ""}
ROW_PIDS = "() => [...document.querySelectorAll('.cbm-queue .cbm-row-pid')].map(b => b.textContent.trim())"
# the queue's parcels on the map (the highlight layer: outlined in their decision colour), in row order
HIGHLIGHT = """(colours) => [...document.querySelectorAll('.cbm-map path')]
    .filter(p => colours.includes(p.getAttribute('stroke')))
    .map(p => { const r = p.getBoundingClientRect();
                return {fill: p.getAttribute('fill'), x: r.x, y: r.y, w: r.width, h: r.height}; })"""
SELECTED_RECT = """(stroke) => { const p = [...document.querySelectorAll('.cbm-map path')]
    .find(p => p.getAttribute('stroke') === stroke);
    if (!p) return null;
    const r = p.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }"""


# test instrumentation: keep a handle on every Leaflet map the page creates (jupyter-leaflet sets
# the global ``L``), to read its centre and zoom as the user sees them
LEAFLET_HOOK = """(() => { let held; Object.defineProperty(window, 'L', {configurable: true,
    get() { return held; }, set(v) { held = v; if (v && v.Map && !v.cbmHooked) { v.cbmHooked = true;
        v.Map.addInitHook(function () { (window.cbmMaps = window.cbmMaps || []).push(this); }); } }}); })()"""
VIEW = """() => { const m = (window.cbmMaps || [])[0]; if (!m) return null;
    const c = m.getCenter(); return {lat: c.lat, lng: c.lng, zoom: m.getZoom()}; }"""


@pytest.fixture()
def api(demo_api: Server) -> Iterator[httpx.Client]:
    """The API as the dashboards' user (admin) sees it."""
    with demo_api.client("admin") as client:
        yield client


@pytest.fixture()
def cleanup(demo_api: Server) -> Iterator[None]:
    """Delete this test's reviews and let the queue rebuild, whatever the test did."""
    yield
    delete_reviews(demo_api.settings, MARK)


def _queue(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get(QUEUE, params={"limit": PAGE, **params})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def _pids(result: dict[str, Any]) -> list[str]:
    return [str(r["pid"]) for r in result["rows"]]


def _rows_become(w: Watched, expected: list[str], what: str) -> None:
    """Wait until the queue's rows are ``expected`` (in this order); fail naming what it shows."""
    try:
        w.page.wait_for_function(f"(want) => JSON.stringify(({ROW_PIDS})()) === JSON.stringify(want)",
                                 arg=expected, timeout=LOAD_MS)
    except Exception:
        shown = w.page.evaluate(ROW_PIDS)
        raise AssertionError(f"{what}: the queue shows {shown}, the API says {expected}") from None


def _highlight(w: Watched) -> list[dict[str, float]]:
    return list(w.page.evaluate(HIGHLIGHT, list(FILL)))


def _settled(w: Watched, js: str = HIGHLIGHT, arg: Any = None, quiet_ms: int = 800) -> Any:
    """What ``js`` reads once it stopped changing for ``quiet_ms`` (zoom animations, inertia, redraws)."""
    arg = list(FILL) if arg is None and js == HIGHLIGHT else arg
    last, still = w.page.evaluate(js, arg), 0
    for _ in range(60):
        w.page.wait_for_timeout(200)
        now = w.page.evaluate(js, arg)
        still = still + 200 if now == last else 0
        if still >= quiet_ms:
            return now
        last = now
    raise AssertionError(f"the map kept moving: {last}")


def _same_rects(a: list[dict[str, float]], b: list[dict[str, float]], tol: float = 1.0) -> bool:
    return len(a) == len(b) and all(abs(p[k] - q[k]) <= tol for p, q in zip(a, b, strict=True)
                                    for k in ("x", "y", "w", "h"))


def _map_box(w: Watched) -> dict[str, float]:
    box = w.page.locator(".cbm-map .leaflet-container").bounding_box()
    assert box is not None
    return dict(box)


def _inside(rect: dict[str, float], box: dict[str, float], margin: float = 30) -> bool:
    cx, cy = rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2
    return (box["x"] + margin < cx < box["x"] + box["width"] - margin
            and box["y"] + margin < cy < box["y"] + box["height"] - margin)


def _card_shows(w: Watched, pid: str) -> None:
    w.page.locator(".cbm-card .cbm-pid", has_text=re.compile(f"^{re.escape(pid)}$")).wait_for(timeout=LOAD_MS)


def _click_row(w: Watched, pid: str) -> None:
    w.page.locator(".cbm-queue .cbm-row-pid", has_text=re.compile(f"^{re.escape(pid)}$")).click()
    _card_shows(w, pid)
    w.page.mouse.move(5, 5)  # off the map: no hover style on the parcels


def _drag(w: Watched, x: float, y: float, dx: float, dy: float) -> None:
    page = w.page
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x + dx * i / 10, y + dy * i / 10)
        page.wait_for_timeout(20)
    page.mouse.up()


def _zoom(w: Watched, levels: int) -> None:
    """Zoom the map with its + / - buttons, ``levels`` > 0 in, < 0 out (one level a click)."""
    button = w.page.locator(".cbm-map .leaflet-control-zoom-" + ("in" if levels > 0 else "out"))
    for _ in range(abs(levels)):
        button.click()
        w.page.wait_for_timeout(400)  # Leaflet's zoom animation


def test_map_keeps_the_users_view(voila: str, watched: Watched, api: httpx.Client) -> None:
    page = watched.page
    page.add_init_script(LEAFLET_HOOK)
    open_app(watched, voila, "review", DEMO, MAP)
    rows = _pids(_queue(api))
    _rows_become(watched, rows, "the first page")
    box = _map_box(watched)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.wait_for_function(f"(c) => ({HIGHLIGHT})(c).length === {len(rows)}", arg=list(FILL), timeout=LOAD_MS)
    fitted = _settled(watched, VIEW)
    # the user zooms out one level and drags the map: their view from now on
    _zoom(watched, -1)
    _drag(watched, cx, cy, -70, 45)
    page.mouse.move(5, 5)
    mine = _settled(watched, VIEW)
    assert mine["zoom"] == fitted["zoom"] - 1 and mine["lng"] != fitted["lng"], (fitted, mine)
    drawn = _settled(watched)
    in_view = [i for i, r in enumerate(drawn) if _inside(r, box)]
    assert len(in_view) >= 3, f"only {len(in_view)} of the page's parcels in the view: {drawn}"
    # select parcels in the view: in the queue (twice), then on the map; the view stays the user's
    for i in in_view[:2]:
        _click_row(watched, rows[i])
        page.wait_for_function(f"([s, r]) => {{ const q = ({SELECTED_RECT})(s); return q && "
                               "Math.abs(q.x - r.x) < 2 && Math.abs(q.y - r.y) < 2; }",
                               arg=[SELECTED, drawn[i]], timeout=LOAD_MS)  # outlined where it is drawn
        assert _settled(watched, VIEW) == mine, f"selecting {rows[i]} in the queue moved the map"
        assert _same_rects(_settled(watched), drawn)
    target = max(in_view[2:], key=lambda i: drawn[i]["w"] * drawn[i]["h"])  # the largest left: easy to hit
    rect = drawn[target]
    page.mouse.click(rect["x"] + rect["w"] / 2, rect["y"] + rect["h"] / 2)
    page.mouse.move(5, 5)
    _card_shows(watched, rows[target])
    assert _settled(watched, VIEW) == mine, "a click on a parcel of the map moved the map"
    assert _same_rects(_settled(watched), drawn)
    # asked for a parcel outside the view (the queue's row of a parcel the user cannot see): the
    # map pans there and keeps the user's zoom (one close enough to draw the parcels in view)
    levels = max(MIN_PARCEL_ZOOM - mine["zoom"], 3)
    _zoom(watched, levels)
    page.mouse.move(5, 5)
    zoomed = _settled(watched, VIEW)
    assert zoomed["zoom"] == mine["zoom"] + levels, (mine, zoomed)
    now = _settled(watched)
    away = [i for i in in_view if not _inside(now[i], box, margin=-5)]
    assert away, "every parcel of the page is still in view after zooming in 3 levels"
    _click_row(watched, rows[away[0]])
    page.wait_for_function(f"([s, b]) => {{ const q = ({SELECTED_RECT})(s); if (!q) return false; "
                           "const x = q.x + q.w / 2, y = q.y + q.h / 2; "
                           "return x > b.x && x < b.x + b.width && y > b.y && y < b.y + b.height; }",
                           arg=[SELECTED, box], timeout=LOAD_MS)
    panned = _settled(watched, VIEW)
    assert panned["zoom"] == zoomed["zoom"], f"bringing the parcel into view changed the zoom: {panned}"
    assert panned != zoomed
    watched.check()


def test_queue_sorts_filters_and_moves(voila: str, watched: Watched, api: httpx.Client,
                                       cleanup: None) -> None:
    page = watched.page
    everything = _queue(api)
    # one reviewed parcel (through the API, as a colleague would), for the reviewed filter
    yellow = _queue(api, colour="yellow")["rows"][0]
    condition = next(c for c, v in yellow["conditions"].items() if v == "yellow")
    api.post("/sets/demo/2025/reviews", json={"pid": yellow["pid"], "condition": condition,
                                              "verdict": "confirm", "comment": MARK}).raise_for_status()
    open_app(watched, voila, "review", DEMO, MAP)
    _rows_become(watched, _pids(_queue(api)), "the first page")
    sort = _dropdown(watched, "Sort by")
    offered = [o.strip().replace("\xa0", " ") for o in sort.locator("option").all_inner_texts()]
    assert offered == [label for label, _ in SORTS]
    orders = set()
    for label, key in SORTS:  # every offered order, as the API gives it
        sort.select_option(label)
        expected = _queue(api, sort=key)
        _rows_become(watched, _pids(expected), f"sorted by {label}")
        _check_sorted(expected["rows"], key)
        orders.add(tuple(_pids(expected)))
    assert len(orders) >= 4, "most sorts give the same order: the sort does not reach the queue"
    sort.select_option("area")
    page.locator(".cbm-queue .widget-toggle-button", has_text="reverse").click()
    expected = _queue(api, sort="area", order="desc")
    _rows_become(watched, _pids(expected), "sorted by area, reversed")
    shown_ha = [float(m) for m in re.findall(r"([\d.]+) ha", " ".join(
        page.locator(".cbm-queue .cbm-row").all_inner_texts()))]
    assert shown_ha == sorted(shown_ha, reverse=True) and len(shown_ha) == PAGE, shown_ha
    page.locator(".cbm-queue .widget-toggle-button", has_text="reverse").click()
    sort.select_option("worst colour")
    _rows_become(watched, _pids(everything), "back to worst colour first")
    # filters, one at a time: fewer parcels, the ones the API selects, and only those on the map
    pick, review = _dropdown(watched, "Condition"), _dropdown(watched, "Review")
    crop_part = "grass"
    filters = [("colour yellow", {"colour": "yellow"},
                lambda: page.locator(".cbm-queue-colour button", has_text="yellow").click(),
                lambda: page.locator(".cbm-queue-colour button", has_text="any").click()),
               (f"condition {condition}", {"condition": condition},
                lambda: pick.select_option(condition_name(condition)),
                lambda: pick.select_option("any condition")),
               (f"crop {crop_part!r}", {"crop": crop_part}, lambda: _type_crop(watched, crop_part),
                lambda: _type_crop(watched, "")),
               ("reviewed", {"reviewed": "true"}, lambda: review.select_option("reviewed"),
                lambda: review.select_option("all")),
               ("not reviewed", {"reviewed": "false"}, lambda: review.select_option("not reviewed"),
                lambda: review.select_option("all"))]
    for what, params, apply, undo in filters:
        apply()
        expected = _queue(api, **params)
        _rows_become(watched, _pids(expected), f"filtered by {what}")
        assert 0 < expected["total"] < everything["total"], (what, expected["total"])
        page.locator(".cbm-page-label", has_text=f"· {expected['total']} parcels").wait_for(timeout=LOAD_MS)
        _check_map_shows(watched, expected["rows"], what)
        if what.startswith("crop"):
            assert all(crop_part in str(r["cropname"]).lower() for r in expected["rows"])
        if what == "reviewed":
            assert yellow["pid"] in _pids(expected)
        undo()
        _rows_become(watched, _pids(everything), f"{what} undone")
    # moves through the filtered rows: Next parcel, keys n / p / j / k, next page ]
    page.locator(".cbm-queue-colour button", has_text="yellow").click()
    _type_crop(watched, crop_part)
    query = {"colour": "yellow", "crop": crop_part}
    first = _queue(api, **query)
    _rows_become(watched, _pids(first), "yellow grassland")
    pid = _pids(first)[0]
    _click_row(watched, pid)
    for how, direction in (("button", "next"), ("n", "next"), ("j", "next"), ("p", "previous"),
                           ("k", "previous")):
        near = api.get(f"{QUEUE}/neighbours", params={"pid": pid, **query}).json()
        assert near[direction], f"no {direction} parcel of {pid} in the filtered queue"
        if how == "button":
            page.locator(".cbm-next-parcel").click()
        else:
            page.locator(".cbm-queue .cbm-row").nth(1).hover()
            page.keyboard.press(how)
        pid = str(near[direction])
        _card_shows(watched, pid)
        page.locator(".cbm-queue .cbm-row-current .cbm-row-pid", has_text=pid).wait_for(timeout=LOAD_MS)
    if first["total"] > PAGE:
        page.locator(".cbm-queue .cbm-row").nth(1).hover()
        page.keyboard.press("]")
        _rows_become(watched, _pids(_queue(api, **query, offset=PAGE)), "the next page of the filtered rows")
    watched.check()


def _dropdown(w: Watched, label: str) -> Any:
    """The ``<select>`` of the queue's dropdown labelled ``label``."""
    return w.page.locator(".cbm-queue .widget-dropdown", has=w.page.locator("label", has_text=label)).locator(
        "select")


def _type_crop(w: Watched, text: str) -> None:
    box = w.page.locator(".cbm-queue-crop input")
    box.fill(text)
    box.press("Enter")


def _check_sorted(rows: list[dict[str, Any]], key: str) -> None:
    """The API's page is in the order of its sort key, then pid."""
    rank = {"red": 0, "yellow": 1, "green": 2}
    value = {"colour": lambda r: rank[r["colour"]],
             "confidence": lambda r: -1.0 if r["confidence"] is None else r["confidence"],
             "area": lambda r: r["area_ha"], "crop": lambda r: r["cropname"] or "",
             "reviewed": lambda r: r["reviewed"], "pid": lambda r: ""}[key]
    keys = [(value(r), r["pid"]) for r in rows]
    if key == "crop":  # the database's collation orders the names: check the groups, not the letters
        names = [k[0] for k in keys]
        assert all(names.index(n) == i or names[i - 1] == n for i, n in enumerate(names)), names
        return
    assert keys == sorted(keys), (key, keys)


def _check_map_shows(w: Watched, rows: list[dict[str, Any]], what: str) -> None:
    """The map draws exactly the page's parcels in the queue's colours (the filter's selection)."""
    want = [DECISION_COLOURS[r["colour"]] for r in rows]
    try:
        w.page.wait_for_function(f"([c, want]) => JSON.stringify(({HIGHLIGHT})(c).map(p => p.fill)) === "
                                 "JSON.stringify(want)", arg=[list(FILL), want], timeout=LOAD_MS)
    except Exception:
        shown = [FILL.get(str(p["fill"]), str(p["fill"])) for p in _highlight(w)]
        raise AssertionError(f"{what}: the map shows {shown}, the queue {[r['colour'] for r in rows]}") \
            from None


def test_card_downloads(voila: str, watched: Watched, api: httpx.Client) -> None:
    page = watched.page
    row = next(r for r in _queue(api, limit=50)["rows"] if len(r["conditions"]) >= 2)
    pid = str(row["pid"])
    decisions = api.get("/parcels/decisions", params={"aoi": "demo", "year": 2025,
                                                      "pid": pid}).json()["decisions"]
    parcel = api.get("/query/parcelByID", params={"aoi": "demo", "year": 2025, "pid": pid,
                                                  "withGeometry": "True", "wgs84": "True"}).json()
    outline = shape(json.loads(parcel["geom"][0]))  # JRC shape: one column per field
    open_app(watched, voila, "parcel_lookup", f"{DEMO}&parcel_id={pid}", MAP)
    _card_shows(watched, pid)
    files = {}
    for kind, name in (("csv", f"demo_2025_{pid}_decisions.csv"), ("gpkg", f"demo_2025_{pid}_decisions.gpkg"),
                       ("html", f"demo_2025_{pid}_evidence.html")):
        page.locator(f".cbm-download-{kind}").click()
        link = page.locator(f'.cbm-download-link[download="{name}"]')
        link.wait_for(timeout=LOAD_MS)
        with page.expect_download(timeout=LOAD_MS) as info:
            link.click()
        assert info.value.suggested_filename == name
        files[kind] = Path(info.value.path())
    conditions = sorted(str(d["condition"]) for d in decisions)
    cells = list(csv.DictReader(files["csv"].read_text(encoding="utf-8").splitlines()))
    assert sorted(c["condition"] for c in cells) == conditions and {c["pid"] for c in cells} == {pid}
    frame = pyogrio.read_dataframe(files["gpkg"], layer="decisions")
    assert sorted(frame["condition"]) == conditions, frame  # one feature per decision of the parcel
    assert set(frame["pid"]) == {pid}
    assert str(frame.crs).upper().endswith("4326")
    for geometry in frame.geometry:
        assert geometry.symmetric_difference(outline).area < 1e-4 * outline.area, (geometry.wkt[:80],
                                                                                    outline.wkt[:80])
    sheet = files["html"].read_text(encoding="utf-8")
    assert pid in sheet
    for d in decisions:
        assert str(d["condition"]) in sheet or condition_name(str(d["condition"])) in sheet, d["condition"]
        assert str(d["colour"]) in sheet
    assert "SYNTHETIC" in sheet, "the demo's evidence sheet does not say its data is synthetic"
    watched.check()


# the x axis' ticks of the first chart in ``root`` (bqplot draws its axes in the figure's background svg)
TICKS = """(root) => [...(document.querySelector(root + ' svg.svg-background')
                          ?.querySelectorAll('g.tick') || [])]
    .filter(g => /translate\\([\\d.]+,\\s*0\\)/.test(g.getAttribute('transform') || ''))
    .map(g => { const r = (g.querySelector('line') || g).getBoundingClientRect();
                return [g.textContent.trim(), r.x + r.width / 2]; })
    .filter(([t]) => t)"""


def _date_ticks(w: Watched, root: str) -> dict[str, float]:
    return dict(w.page.evaluate(TICKS, root))


def _offsets(w: Watched, other: str) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    main, theirs = _date_ticks(w, ".cbm-timeseries"), _date_ticks(w, other)
    return main, theirs, {t: round(theirs[t] - main[t], 2) for t in sorted(set(main) & set(theirs))}


def _aligned(w: Watched, what: str, other: str = ".cbm-peers", wait_s: float = 30) -> None:
    """The same dates at the same x (within 1 px) on the main chart and on ``other``'s.

    The other chart follows the main chart's zoom through the kernel: it may take a while under load.
    """
    for _ in range(int(wait_s / 0.5)):
        main, theirs, off = _offsets(w, other)
        same = len(off) >= 4 and len(off) == len(main) == len(theirs)
        if same and all(abs(d) <= 1.0 for d in off.values()):
            return
        w.page.wait_for_timeout(500)
    raise AssertionError(f"{what}: the dates of {other} are not those of the chart: {main} / {theirs}")


def test_peers_chart_lines_up_with_the_main_chart(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "timeseries", f"{DEMO}&parcel_id=P000004")
    page.locator(".cbm-peers .cbm-caption", has_text="peers").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-timeseries .cbm-caption", has_text="P000004").wait_for(timeout=LOAD_MS)
    _settled(watched, TICKS, ".cbm-peers")
    _aligned(watched, "the whole year")
    # the demo has weather: the panel under the chart shares its date axis
    page.locator(".cbm-weather svg.svg-background").first.wait_for(timeout=LOAD_MS)
    _aligned(watched, "the whole year", ".cbm-weather")
    # zoom the main chart (pan / zoom mode, wheel): the peers chart follows, dates still line up
    before = _date_ticks(watched, ".cbm-timeseries")
    page.locator(".cbm-timeseries .cbm-zoom").click()
    plot = page.locator(".cbm-timeseries svg.svg-figure").first.bounding_box()
    assert plot is not None
    page.mouse.move(plot["x"] + plot["width"] * 0.5, plot["y"] + plot["height"] * 0.5)
    # the pan / zoom interaction is attached after a round trip through the kernel: a wheel event
    # before it does nothing (a loaded CI run lost both), so wheel until the dates change
    for _ in range(40):
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(500)
        if _date_ticks(watched, ".cbm-timeseries") != before:
            break
    else:
        raise AssertionError("the chart did not zoom on the mouse wheel in pan / zoom mode")
    _settled(watched, TICKS, ".cbm-timeseries")
    _aligned(watched, "zoomed in")
    _aligned(watched, "zoomed in", ".cbm-weather")
    watched.check()
