"""Navigation between the dashboards: which set is shown, links that keep the parcel, a URL that follows.

:class:`Navigation` sits under the title of every app. It names the parcel set shown, links to
the other dashboards with the current ``aoi``, ``year``, ``parcel_id`` and ``date``, and keeps the
page's own URL in step with them (``history.replaceState``), so the address bar can be copied and
shared at any time. :func:`set_index` is the landing page: the sets the user may read, and for a
QA inspector the samples to inspect.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

import ipywidgets as w
import traitlets as t

from cbm_widgets.app import request_query_string
from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError, human

APPS = (("parcel_lookup", "Parcel lookup"), ("review", "Review queue"), ("timeseries", "Time series"),
        ("chips", "Image chips"), ("markers", "Markers and decisions"))
KEPT = ("theme",)  # other query parameters a link keeps


def state_query(state: Mapping[str, Any], extra: str = "") -> str:
    """The query string of a state (``aoi year parcel_id date condition``) and ``extra``'s kept parameters."""
    params = {k: str(state[k]) for k in ("aoi", "year", "parcel_id", "date", "condition") if state.get(k)}
    params.update({k: v for k, v in parse_qsl(extra) if k in KEPT})
    return urlencode(params)


def links_html(current: str, query: str) -> str:
    """Links to every dashboard (the current one in bold) with the same query string."""
    items = []
    for name, title in APPS:
        if name == current:
            items.append(f'<b class="cbm-nav-current">{html.escape(title)}</b>')
        else:
            items.append(f'<a class="cbm-nav-{name}" href="{name}.ipynb?{html.escape(query)}">'
                         f"{html.escape(title)}</a>")
    return " · ".join([f'<a class="cbm-nav-index" href="index.ipynb?{html.escape(query)}">All sets</a>',
                       *items])


def url_script(query: str) -> str:
    """An invisible element whose load error replaces the page URL's query string with ``query``.

    (The HTML widget inserts its value as HTML: a script tag would not run, an ``onerror`` does.)
    """
    target = html.escape("?" + query.replace("'", "%27").replace("\\", "%5C"))
    return (f'<img class="cbm-url-sync" alt="" src="data:," style="display:none" '
            f"onerror=\"history.replaceState(history.state, '', '{target}')\">")


class Navigation(CbmWidget):
    """The set shown, links to the other dashboards, and the page URL following the selection.

    Args:
        client: the API client (not used for requests; kept for the common widget shape).
        app: this dashboard's notebook name (e.g. ``"parcel_lookup"``).
        extra: the page's original query string (its ``theme`` is kept in links); by default the
            request's, read when the state first changes (after the page request arrived).
    """

    condition = t.Unicode("")
    css_class = "cbm-nav"

    def __init__(self, client: CbmClient, app: str = "", extra: str | None = None, **kwargs: Any) -> None:
        super().__init__(client)
        self.app, self.extra = app, extra
        self.title = w.HTML("", _dom_classes=["cbm-nav-set"])
        self.links = w.HTML("", _dom_classes=["cbm-nav-links"])
        self.sync = w.HTML("", _dom_classes=["cbm-nav-sync"])
        self.children = [w.HBox([self.title, self.links], _dom_classes=["cbm-nav-bar"]), self.sync]
        self.observe(self._update, names=["aoi", "year", "parcel_id", "date", "condition"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    def query(self) -> str:
        """The query string of the current state."""
        state = {"aoi": self.aoi, "year": self.year, "parcel_id": self.parcel_id, "date": self.date,
                 "condition": self.condition}
        if self.extra is None:
            self.extra = request_query_string()
        return state_query(state, self.extra)

    def _update(self, _change: dict[str, Any] | None = None) -> None:
        shown = f"Parcel set <b>{html.escape(self.aoi)} {self.year}</b>" if self.aoi and self.year else ""
        parcel = f" · parcel <b>{html.escape(self.parcel_id)}</b>" if self.parcel_id else ""
        self.title.value = f'<span class="cbm-nav-shown">{shown}{parcel}</span>'
        query = self.query()
        self.links.value = links_html(self.app, query)
        if self.aoi and self.year:
            self.sync.value = url_script(query)


def qa_links(inspections: Sequence[Mapping[str, Any]], aoi: str, year: int) -> list[str]:
    """Links to the QA inspection dashboard for the samples of a set the user inspects."""
    links = []
    for s in inspections:
        if (s.get("aoi"), s.get("year")) == (aoi, year):
            query = html.escape(urlencode({"aoi": aoi, "year": year, "sample": s["sample_id"]}))
            links.append(f'<a class="cbm-index-qa" href="qa_inspection.ipynb?{query}">QA inspection '
                         f"(sample {int(s['sample_id'])}: {int(s['n_open'])} of {int(s['n_units'])} "
                         "to inspect)</a>")
    return links


def index_html(info: Mapping[str, Any], inspections: Sequence[Mapping[str, Any]] = ()) -> str:
    """The landing page's list: one line per readable set and year, with a link to each dashboard.

    ``inspections`` (``/me``'s ``qa_inspections``) adds, to the sets concerned, a link to the QA
    inspection dashboard for each sample the user inspects.
    """
    aois = dict(info.get("aois", {}))
    if not aois:
        return ('<p class="cbm-muted">You may not read any parcel set yet: ask an administrator '
                "for a grant.</p>")
    lines = []
    for aoi in sorted(aois):
        for year in sorted(aois[aoi].get("years", []), reverse=True):
            query = html.escape(urlencode({"aoi": aoi, "year": year}))
            links = " · ".join([f'<a href="{name}.ipynb?{query}">{html.escape(title)}</a>'
                                for name, title in APPS] + qa_links(inspections, aoi, year))
            lines.append(f'<li class="cbm-set"><b>{html.escape(aoi)} {year}</b>: {links}</li>')
    return f'<ul class="cbm-sets">{"".join(lines)}</ul>'


def set_index(client: CbmClient) -> w.HTML:
    """The sets the user may read, each with links to the dashboards (one short message on error).

    A QA inspector also gets a link to the inspection dashboard of each sample to inspect.
    """
    try:
        inspections = client.get_json("/me").get("qa_inspections", [])
        return w.HTML(index_html(client.info(), inspections), _dom_classes=["cbm-index"])
    except CbmApiError as exc:
        return w.HTML(f'<div class="cbm-error" role="alert">{html.escape(human(exc))}</div>',
                      _dom_classes=["cbm-index"])
