"""Composition helpers for dashboards: ``link``, deep links from the URL, and the page frame.

An app notebook reads like this (two cells, so that Voilà can preheat the first one)::

    m, chart = ParcelMap(client), TimeSeriesChart(client)
    link(m, chart)
    display(dashboard("Parcel lookup", m, chart, hub=m))
    # --- next cell: the request's URL is known from here on
    start(m, deep_link(client))

With ``voila --preheat_kernel=True`` the first cell runs before anyone asks for the page (imports,
widgets, layout); :func:`query_params` then waits for the page request and reads its query string.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

import bqplot as bq
import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError, human

# highlight: the queue's parcels on the map; condition: the queue's / explorer's filter, the chips' window
SHARED = ("aoi", "year", "parcel_id", "date", "condition", "highlight")
SYNTHETIC_AOIS = frozenset({"demo"})
URL_PARAMETERS = frozenset({"aoi", "year", "parcel_id", "pid", "date", "condition"})
_request: dict[str, str] = {}  # the query string of this kernel's page request, once known


def link(*widgets: CbmWidget, names: Sequence[str] = SHARED) -> list[t.link]:
    """Tie the shared state (``aoi``, ``year``, ``parcel_id``, ``date``) of widgets together.

    The first widget is the hub; every other widget is linked to it both ways. Returns the links
    (call ``.unlink()`` on them to undo).
    """
    hub, *others = widgets
    links = [t.link((hub, name), (other, name)) for other in others for name in names
             if name in hub.trait_names() and name in other.trait_names()]
    followers = [widget for widget in widgets if callable(getattr(widget, "follow", None))]
    axes = [x for x in (getattr(widget, "x", None) for widget in widgets if widget not in followers)
            if isinstance(x, bq.DateScale)]
    for widget in followers:  # the chip strip and the peers chart follow the chart's time axis (zoom, pan)
        if axes and callable(getattr(widget, "follow", None)):
            widget.follow(axes[0])
    return links


def request_query_string() -> str:
    """The query string of the page request that runs this kernel (``""`` outside Voilà).

    Voilà sets ``QUERY_STRING`` when it starts a kernel for a request. A preheated kernel
    (``VOILA_PREHEAT=True``) was started before the request: it waits for it here with Voilà's
    documented ``voila.utils.get_query_string()``, once; later calls return the same string.
    """
    if "query" not in _request:
        if os.environ.get("VOILA_PREHEAT") == "True":
            from voila.utils import get_query_string  # only inside a preheated Voilà kernel

            _request["query"] = get_query_string() or ""
        else:
            _request["query"] = os.environ.get("QUERY_STRING", "")
    return _request["query"]


def query_params(query_string: str | None = None) -> dict[str, str]:
    """``aoi``, ``year``, ``parcel_id`` (or ``pid``), ``date`` and ``condition`` from a URL query string.

    By default the string is the page request's (:func:`request_query_string`).
    """
    raw = parse_qs(request_query_string() if query_string is None else query_string)
    out = {k: v[0].strip() for k, v in raw.items() if v and k in URL_PARAMETERS}
    if "pid" in out and "parcel_id" not in out:
        out["parcel_id"] = out.pop("pid")
    out.pop("pid", None)
    return out


def deep_link(client: CbmClient, query_string: str | None = None) -> dict[str, Any]:
    """The initial state of an app: the URL's values, else the first parcel set the user may read.

    Returns a dict with ``aoi``, ``year`` (int), ``parcel_id``, ``date``, ``condition`` and
    ``error`` (one short message when the URL names a set, parcel or condition the user cannot
    see, or the API is unreachable; the unknown part is then left out, so every widget does not
    repeat the message).
    """
    params = query_params(query_string)
    state: dict[str, Any] = {"aoi": params.get("aoi", ""), "year": 0,
                             "parcel_id": params.get("parcel_id", ""),
                             "date": params.get("date", "")[:10], "condition": params.get("condition", ""),
                             "error": ""}
    try:
        state["year"] = int(params.get("year", "0") or 0)
    except ValueError:
        state["error"] = f"The year in the link is not a number: {params['year']!r}."
    try:
        aois = client.info().get("aois", {})
    except CbmApiError as exc:
        state["error"] = human(exc)
        return state
    if state["aoi"] and state["aoi"] not in aois:
        readable = ", ".join(sorted(aois)) or "none"
        state["error"] = f"No parcel set {state['aoi']!r} you may read (yours: {readable})."
        state["aoi"], state["year"], state["parcel_id"] = "", 0, ""
        return state
    aoi = state["aoi"] or next(iter(aois), "")
    years = aois.get(aoi, {}).get("years", [])
    if state["year"] and years and state["year"] not in years:
        state["error"] = f"No {aoi} parcel set for {state['year']} (years: {', '.join(map(str, years))})."
        state["year"], state["parcel_id"] = 0, ""
    state["aoi"], state["year"] = aoi, state["year"] or (max(years) if years else 0)
    if state["condition"] and state["year"] and not state["error"]:
        _check_condition(client, state)
    return state


def _check_condition(client: CbmClient, state: dict[str, Any]) -> None:
    """Leave out a condition the set has no decision for, with one message naming the set's."""
    try:
        known = sorted(client.decision_page(state["aoi"], state["year"], limit=1).counts)
    except CbmApiError as exc:
        state["error"], state["condition"] = human(exc), ""
        return
    if state["condition"] not in known:
        names = ", ".join(known) or "none yet"
        state["error"] = (f"No condition {state['condition']!r} in {state['aoi']} {state['year']} "
                          f"(conditions: {names}).")
        state["condition"] = ""


def start(hub: CbmWidget, state: Mapping[str, Any]) -> None:
    """Apply the deep-link state to the (linked) widgets once the hub is on screen (lazy loading)."""
    hub.when_rendered(lambda: _apply(hub, state))


def _apply(hub: CbmWidget, state: Mapping[str, Any]) -> None:
    error = str(state.get("error") or "")
    if state.get("condition") and "condition" in hub.trait_names():
        hub.set_trait("condition", state["condition"])  # before the set: the queue loads once
    pid = str(state.get("parcel_id") or "")
    if pid and state.get("aoi") and state.get("year"):
        try:  # an unknown parcel: one message on the hub, instead of one per widget
            found = hub.client.parcel(state["aoi"], int(state["year"]), pid)
        except CbmApiError as exc:
            error, pid = human(exc), ""
        else:
            if hasattr(hub, "parcel"):
                hub.parcel = found  # the map then does not ask for it again
    if pid:  # first: the map then never centres on the whole set on the way
        hub.parcel_id = pid
    hub.aoi, hub.year = state["aoi"], state["year"]
    if state.get("date"):
        hub.date = state["date"]
    if error:
        hub.error = error


def _css() -> str:
    return resources.files("cbm_widgets").joinpath("dashboard.css").read_text(encoding="utf-8")


def banner(aoi: str) -> str:
    """The synthetic-data warning for demo AOIs (empty otherwise)."""
    if aoi not in SYNTHETIC_AOIS:
        return ""
    return ('<div class="cbm-synthetic" role="note"><b>SYNTHETIC DEMO DATA</b> — parcels, images and '
            "decisions of this area are generated by the CbM demo, not real observations.</div>")


def dashboard(title: str, *rows: w.Widget, aoi: str = "", subtitle: str = "",
              hub: CbmWidget | None = None) -> w.VBox:
    """The page frame: styles, title bar, synthetic-data banner, then the rows.

    Args:
        title: the page title.
        *rows: the widgets, top to bottom.
        aoi: the AOI shown (for the synthetic-data banner), when known now.
        subtitle: one line of help next to the title.
        hub: a widget whose ``aoi`` the banner follows (the AOI is known only after the request).
    """
    head = (f"<style>{_css()}</style>"
            f'<div class="cbm-header"><span class="cbm-title">{html.escape(title)}</span>'
            f'<span class="cbm-subtitle">{html.escape(subtitle)}</span></div>')
    note = w.HTML(banner(aoi or (hub.aoi if hub else "")), _dom_classes=["cbm-banner"])
    if hub is not None:
        hub.observe(lambda change: setattr(note, "value", banner(change["new"])), names="aoi")
    return w.VBox([w.HTML(head), note, *rows], _dom_classes=["cbm-app"])


def columns(left: w.Widget, right: w.Widget, split: str = "3fr 2fr") -> w.GridBox:
    """Two columns side by side (stacked on narrow screens by the CSS)."""
    layout = w.Layout(grid_template_columns=split, grid_gap="12px", width="100%")
    return w.GridBox([left, right], layout=layout,
                     _dom_classes=["cbm-columns"])
