"""The Voilà apps in a real browser: deep links, search, chart clicks, chips, error messages."""

from __future__ import annotations

import re
import time

import pytest
from uitools import LOAD_MS, Watched, clipped_buttons, open_app

from cbm_widgets.map_layers import DECISION_COLOURS
from cbm_widgets.map_layers import SELECTED as SELECTED_COLOUR

pytestmark = pytest.mark.slow
DEMO = "aoi=demo&year=2025"
RED, SELECTED = DECISION_COLOURS["red"], SELECTED_COLOUR


def _search(w: Watched, text: str) -> None:
    box = w.page.locator(".cbm-search input")
    box.fill(text)
    box.press("Enter")


def test_parcel_lookup(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "parcel_lookup", f"{DEMO}&parcel_id=P000001")
    page.get_by_text("SYNTHETIC DEMO DATA").wait_for()
    page.locator(".cbm-card .cbm-pid", has_text="P000001").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-timeseries .cbm-caption", has_text="P000001").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-map path.leaflet-interactive").first.wait_for(timeout=LOAD_MS)
    watched.shot("parcel_lookup-deep-link")
    # search another parcel: card and chart follow
    t0 = time.monotonic()
    _search(watched, "P000002")
    page.locator(".cbm-timeseries .cbm-caption", has_text="P000002").wait_for(timeout=LOAD_MS)
    chart_s = time.monotonic() - t0
    page.locator(".cbm-card .cbm-pid", has_text="P000002").wait_for(timeout=LOAD_MS)
    # item 2: the card names conditions and dates in words (no rule ids, no day-of-year numbers),
    # and the chart draws the condition's window with its label
    lines = page.locator(".cbm-card .cbm-decision").all_inner_texts()
    assert lines and not [line for line in lines if "_" in line], lines
    assert any(re.search(r"\b\d{1,2} [A-Z][a-z]{2} 2025\b", line) for line in lines), lines
    page.locator(".cbm-timeseries svg text", has_text=": window").filter(visible=True).first.wait_for(
        timeout=LOAD_MS)  # the span's label on the chart (the line's legend label stays hidden)
    # item 9: a plain click on a series adds it and keeps the others (no Ctrl-click)
    page.locator("button.cbm-series-B04").click()
    page.locator("button.cbm-series-B04.mod-active").wait_for(timeout=LOAD_MS)
    assert page.locator("button.cbm-series-NDVI.mod-active").count() == 1
    # click a date on the chart: the gallery marks that chip
    page.locator(".cbm-timeseries .dot").nth(20).click(force=True)
    page.locator(".cbm-chip-selected img").wait_for(timeout=LOAD_MS)
    watched.shot("parcel_lookup-date-selected")
    # unknown parcel: a short message, no traceback
    _search(watched, "NO-SUCH-PARCEL")
    page.locator(".cbm-error", has_text="No parcel 'NO-SUCH-PARCEL'").wait_for(timeout=LOAD_MS)
    assert "Traceback" not in page.content()
    watched.shot("parcel_lookup-unknown-parcel")
    assert clipped_buttons(watched) == []  # issue 21 item 10: at 400 px no button label is cut
    watched.check()
    print(f"search -> chart updated in {chart_s:.2f} s")


def test_map_click_selects_parcel(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "parcel_lookup", f"{DEMO}&parcel_id=P000001")
    page.locator(".cbm-timeseries .cbm-caption", has_text="P000001").wait_for(timeout=LOAD_MS)
    # the map draws the neighbours after the card and chart (CbmWidget.later): wait for one
    page.wait_for_function(
        """(selected) => [...document.querySelectorAll('.cbm-map path.leaflet-interactive')]
            .some(p => p.getAttribute('stroke') !== selected)""", arg=SELECTED, timeout=LOAD_MS)
    box = page.locator(".cbm-map .leaflet-container").bounding_box()
    assert box is not None
    # a point on another parcel drawn on the map (demo parcels have gaps between them): a grid of
    # points over the whole map, the first that hits a parcel's outline other than the selected one
    point = page.evaluate(
        """([x0, y0, w, h, selected]) => {
            for (let fy = 0.05; fy < 0.95; fy += 0.025) for (let fx = 0.1; fx < 0.9; fx += 0.025) {
                const x = x0 + w * fx, y = y0 + h * fy, el = document.elementFromPoint(x, y);
                if (el && el.tagName === 'path' && el.getAttribute('stroke') !== selected) return [x, y];
            }
            return null;
        }""", [box["x"], box["y"], box["width"], box["height"], SELECTED])
    assert point is not None, "no other parcel drawn on the map"
    page.mouse.click(*point)
    caption = page.locator(".cbm-timeseries .cbm-caption")
    page.wait_for_function("el => !el.textContent.includes('P000001')", arg=caption.element_handle(),
                           timeout=LOAD_MS)
    watched.check()


def test_timeseries_app(voila: str, watched: Watched) -> None:
    open_app(watched, voila, "timeseries", f"{DEMO}&parcel_id=P000004")
    watched.page.locator(".cbm-peers .cbm-caption", has_text="peers").wait_for(timeout=LOAD_MS)
    watched.shot("timeseries")
    assert clipped_buttons(watched) == []
    watched.check()


def test_chips_app(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "chips", f"{DEMO}&parcel_id=P000005&date=2025-07-15")
    page.locator(".cbm-chip img").first.wait_for(timeout=LOAD_MS)
    first = page.locator(".cbm-range").inner_text()
    page.locator(".cbm-next button, button.cbm-next").first.click()
    page.wait_for_function("t => document.querySelector('.cbm-range').textContent !== t", arg=first,
                           timeout=LOAD_MS)
    page.wait_for_function("() => [...document.querySelectorAll('.cbm-chip img')].length > 0 && "
                           "[...document.querySelectorAll('.cbm-chip img')].every(i => i.naturalWidth > 1)",
                           timeout=LOAD_MS)
    assert page.locator(".cbm-map .cbm-error").count() == 0  # the overlay found the nearest image
    watched.shot("chips")
    assert clipped_buttons(watched) == []
    watched.check()


def test_markers_app(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "markers", DEMO)
    page.locator(".cbm-explorer .cbm-row").first.wait_for(timeout=LOAD_MS)
    assert "decisions" in page.locator(".cbm-explorer", has_text="page 1 of").inner_text()
    # the map fills the parcels in view with their worst decision colour, with its legend
    page.locator(f'.cbm-map path[fill="{RED}"]').first.wait_for(timeout=LOAD_MS)
    page.locator(".cbm-map .leaflet-control", has_text="no decision").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-explorer .cbm-row-pid").first.click()  # a red parcel: the map goes there
    page.locator(f'.cbm-map path[stroke="{SELECTED}"]').first.wait_for(timeout=LOAD_MS)
    page.locator(".cbm-card .cbm-pid").first.wait_for(timeout=LOAD_MS)
    watched.shot("markers")
    assert clipped_buttons(watched) == []
    watched.check()


def test_parcel_lookup_dark_theme(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "parcel_lookup", f"{DEMO}&parcel_id=P000003&theme=dark")
    assert page.locator("body.theme-dark").count() == 1
    page.locator(".cbm-timeseries .cbm-caption", has_text="P000003").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-chip img").first.wait_for(timeout=LOAD_MS)
    background = page.evaluate("() => getComputedStyle(document.querySelector('.cbm-card')).backgroundColor")
    assert _luminance(background) < 0.3, background  # the widgets follow the dark theme
    watched.shot("parcel_lookup-dark")
    watched.check()


def _luminance(css_rgb: str) -> float:
    r, g, b = (float(v) for v in re.findall(r"[\d.]+", css_rgb)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
