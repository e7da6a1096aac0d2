"""The chips of a parcel in Chromium: a season strip at the chart's dates, outlined parcel-sized
chips, the window opened on the condition's window, honest cloud words, a strip chip selecting its date.

Runs against the demo area in the project database (as ``test_apps``): parcel P000005 is
yellow for ``no_long_bare_soil`` with the window 1 August - 15 November 2025.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from uitools import LOAD_MS, Watched, open_app

pytestmark = pytest.mark.slow
DEMO = "aoi=demo&year=2025"
ALL_LOADED = ("() => {{ const i = [...document.querySelectorAll('{sel}')]; "
              "return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 1); }}")
CLOUD_WORDS = re.compile(r"^(\d+% cloud(, \d+% no data)?|no data)$")


def _strip_centres(w: Watched) -> list[tuple[date, float]]:
    """Each visible strip chip's date (from its button) and the x of its centre."""
    out = []
    for chip in w.page.locator(".cbm-strip .cbm-strip-chip").all():
        if not chip.is_visible():
            continue
        label = chip.locator("button").inner_text().strip()  # e.g. "05 Jul"
        box = chip.bounding_box()
        out.append((datetime.strptime(f"{label} 2025", "%d %b %Y").date(), box["x"] + box["width"] / 2))
    return out


def test_season_strip_and_window(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "chips", f"{DEMO}&parcel_id=P000005")
    page.wait_for_function(ALL_LOADED.format(sel=".cbm-strip-chip img"), timeout=LOAD_MS)
    page.wait_for_function(ALL_LOADED.format(sel=".cbm-chip-grid .cbm-chip img"), timeout=LOAD_MS)
    # the window of chips (40 days) opens where the condition's window starts, not on 1 May
    assert page.locator(".cbm-range").inner_text().startswith("01 Aug 2025 – 09 Sep 2025")
    # every strip chip sits at its date on the chart's time axis (1 January .. 31 December)
    plot = page.locator(".cbm-timeseries .plotarea_background").first.bounding_box()
    centres = _strip_centres(watched)
    assert len(centres) >= 8, centres  # the demo has images all year: most of the 12 slots are filled
    for day, x in centres:
        expected = plot["x"] + plot["width"] * (day - date(2025, 1, 1)).days / 364
        assert abs(x - expected) <= 3, (day, x, expected)
    # the condition's window is drawn in the strip over the same dates
    band = page.locator(".cbm-strip-window").bounding_box()
    start = plot["x"] + plot["width"] * (date(2025, 8, 1) - date(2025, 1, 1)).days / 364
    assert abs(band["x"] - start) <= 3
    # cloud words are the parcel's own shares
    for text in page.locator(".cbm-chip-grid .cbm-cloud").all_inner_texts():
        assert CLOUD_WORDS.match(text.strip()), text
    # a strip chip's button selects its date: the chips of its window are shown, it is highlighted
    chip = page.locator(".cbm-strip .cbm-strip-chip").nth(3)
    chip.locator("button").click()
    page.locator(".cbm-strip .cbm-strip-chip.cbm-chip-selected").wait_for(timeout=LOAD_MS)
    page.locator(".cbm-chip-grid .cbm-chip.cbm-chip-selected").wait_for(timeout=LOAD_MS)
    watched.shot("chip_strip")
    watched.check()
