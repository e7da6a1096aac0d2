"""The shared shape of every cbm widget: state traitlets, selection callbacks, a status line.

A widget owns ``aoi``, ``year``, ``parcel_id`` and ``date`` as traitlets; :func:`cbm_widgets.link`
ties these together across widgets. Errors from the API never escape into the page: they are
caught by :meth:`CbmWidget.guard`, logged, and shown as one short sentence in ``status``.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError, human

log = logging.getLogger(__name__)


class CbmWidget(w.VBox):
    """Base class: state traitlets, ``on_parcel_selected``/``on_date_selected``, ``error`` message.

    Attributes:
        aoi: AOI code of the parcel set.
        year: year of the parcel set.
        parcel_id: agency id (``pid``) of the selected parcel; ``""`` for none.
        date: selected observation date, ISO ``YYYY-MM-DD``; ``""`` for none.
        error: the last error, as a short sentence; ``""`` when all is well.
        busy: True while the widget is loading data.
    """

    aoi = t.Unicode("").tag(sync=True)
    year = t.Int(0).tag(sync=True)
    parcel_id = t.Unicode("").tag(sync=True)
    date = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    busy = t.Bool(False).tag(sync=True)

    css_class = "cbm-widget"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        self.client = client
        self._parcel_callbacks = w.CallbackDispatcher()
        self._date_callbacks = w.CallbackDispatcher()
        self.status = w.HTML("", _dom_classes=["cbm-status"])
        super().__init__(**kwargs)
        self.add_class("cbm-widget")
        self.add_class(self.css_class)

    # ------------------------------------------------------------------ events
    def on_parcel_selected(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """Call ``callback(pid)`` when the user selects a parcel in this widget."""
        self._parcel_callbacks.register_callback(callback, remove=remove)

    def on_date_selected(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """Call ``callback(iso_date)`` when the user selects a date in this widget."""
        self._date_callbacks.register_callback(callback, remove=remove)

    def select_parcel(self, pid: str) -> None:
        """Select a parcel as the user would: set ``parcel_id`` and fire the callbacks."""
        self.parcel_id = pid
        self._parcel_callbacks(pid)

    def select_date(self, iso: str) -> None:
        """Select a date as the user would: set ``date`` and fire the callbacks."""
        self.date = iso
        self._date_callbacks(iso)

    # ------------------------------------------------------------------ feedback
    @t.observe("error")
    def _show_error(self, change: dict[str, Any]) -> None:
        message = change["new"]
        self.status.value = (f'<div class="cbm-error" role="alert">{html.escape(message)}</div>'
                             if message else "")

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Run a data load: set ``busy``, clear or set ``error``; never lets an exception out."""
        self.busy = True
        self.error = ""
        try:
            yield
        except CbmApiError as exc:
            log.info("%s: %s", what, exc)
            self.error = human(exc)
        except Exception:
            log.exception("unexpected error while %s", what)
            self.error = human(RuntimeError())
        finally:
            self.busy = False

    def later(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` on the kernel's next event-loop turn, at once outside a kernel.

        For work that the user does not wait for (peers, photos, chips): the updates of the
        current selection that they wait for (card, chart) reach the browser first, and a click
        in between is handled before it.
        """
        loop = serving_loop()
        if loop is None:
            callback()
        else:
            loop.call_soon(callback)

    def when_rendered(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` once the widget is on screen (here: at once; maps wait for the browser)."""
        callback()

    def _ready(self) -> bool:
        """True when a parcel set and a parcel are chosen."""
        return bool(self.aoi and self.year and self.parcel_id)


def link_choice(picker: w.Dropdown, widget: w.Widget, name: str, label: Any = str) -> None:
    """Tie a dropdown to a trait both ways, like ``link``, for values the dropdown may not list yet.

    A value set on the trait first (e.g. a condition from the URL, before the set's conditions
    are loaded) is added as an option named ``label(value)`` instead of failing.
    """

    def to_trait(change: dict[str, Any]) -> None:
        setattr(widget, name, change["new"] or "")

    def to_picker(change: dict[str, Any]) -> None:
        value = change["new"]
        if value not in [v for _, v in picker.options]:
            picker.options = [*picker.options, (label(value), value)]
        picker.value = value

    picker.observe(to_trait, names="value")
    widget.observe(to_picker, names=name)


def serving_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running this code in a task (a kernel's), else None.

    A loop merely set as running is not enough: Playwright's sync API leaves its loop visible to
    ``get_running_loop`` in the main thread, and callbacks queued there would never run.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop if asyncio.current_task(loop) is not None else None


def download_link(name: str, content: bytes, media_type: str, label: str | None = None) -> str:
    """An ``<a download>`` link holding the file as a data URL (the browser saves it under ``name``).

    ``label`` is the link's text (escaped here), ``Save <name>`` by default.
    """
    data = base64.b64encode(content).decode("ascii")
    text = html.escape(label if label is not None else f"Save {name}")
    return (f'<a class="cbm-download-link" download="{html.escape(name)}" '
            f'href="data:{media_type};base64,{data}">{text}</a>')
