"""``PhotoStrip``: the selected parcel's geotagged photos, thumbnails with their checks, full size on click.

Photos come from ``/sets/{aoi}/{year}/photos?pid=`` with short-lived signed URLs; the widget
fetches the EXIF-free thumbnails (and, on *Full size*, the original) through the client, so the
browser never calls the API itself. Each thumbnail says when the photo was taken, its bearing and
the result of every check (a failed check is marked and its detail is in the tooltip).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget, download_link
from cbm_widgets.client import CbmClient

MAX_SHOWN = 12  # thumbnails fetched per parcel; the rest are counted, not shown
CHECK_MARKS = {"pass": "✓", "fail": "✗", "unknown": "?"}


def photo_label(photo: dict[str, Any]) -> str:
    """``Photo 12 · 2025-06-15 10:11 · 90°``: id, local time taken and bearing when known."""
    parts = [f"Photo {photo['id']}"]
    if photo.get("taken_local"):
        parts.append(str(photo["taken_local"])[:16].replace("T", " "))
    if photo.get("bearing") is not None:
        parts.append(f"{float(photo['bearing']):.0f}°")
    return " · ".join(parts)


def checks_html(photo: dict[str, Any]) -> str:
    """One mark per check (✓ pass, ✗ fail, ? unknown), failed ones highlighted, details as tooltips."""
    marks = []
    for c in photo.get("checks", []):
        status = str(c.get("status", "unknown"))
        title = html.escape(f"{c.get('check')}: {status} — {c.get('detail', '')}", quote=True)
        marks.append(f'<span class="cbm-photo-check cbm-check-{html.escape(status)}" title="{title}">'
                     f"{CHECK_MARKS.get(status, '?')} {html.escape(str(c.get('check')))}</span>")
    return f'<div class="cbm-photo-checks">{" ".join(marks)}</div>'


class PhotoStrip(CbmWidget):
    """Thumbnails of the selected parcel's photos; *Full size* shows the original below them.

    Attributes:
        photos: the parcel's photos as the API lists them (metadata, checks, signed URLs).
        total: how many photos the parcel has (more than shown when above ``MAX_SHOWN``).
        viewing: id of the photo shown at full size (0: none).
    """

    photos: t.List[dict[str, Any]] = t.List()
    total = t.Int(0)
    viewing = t.Int(0)
    css_class = "cbm-photos"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.heading = w.HTML("", _dom_classes=["cbm-photos-heading"])
        self.thumbs = w.HBox([], _dom_classes=["cbm-photo-thumbs"], layout=w.Layout(flex_flow="row wrap"))
        self.viewer = w.VBox([], _dom_classes=["cbm-photo-viewer"])
        self.children = [self.heading, self.thumbs, self.status, self.viewer]
        self.observe(self._update, names=["aoi", "year", "parcel_id"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    def _update(self, _change: dict[str, Any] | None = None) -> None:
        self.photos, self.total, self.viewing = [], 0, 0
        self.thumbs.children, self.viewer.children, self.heading.value = (), (), ""
        self.layout.display = "none"
        if not self._ready():
            return
        with self.guard(f"loading the photos of {self.parcel_id}"):
            found = self.client.photos(self.aoi, self.year, self.parcel_id, limit=MAX_SHOWN)
            self.total = int(found.get("total", 0))
            shown = list(found.get("photos", []))
            self.thumbs.children = tuple(self._thumb(p) for p in shown)
            self.photos = shown
        if not (self.total or self.error):
            return
        more = f" ({len(self.photos)} shown)" if self.total > len(self.photos) else ""
        self.heading.value = f"<b>Photos</b> <span class=\"cbm-muted\">{self.total} in the field{more}</span>"
        self.layout.display = None

    def _thumb(self, photo: dict[str, Any]) -> w.VBox:
        image = w.Image(value=self.client.fetch_bytes(photo["thumbnail_url"]), format="jpeg",
                        layout=w.Layout(width="160px"), _dom_classes=["cbm-photo-thumb"])
        button = w.Button(description="Full size", tooltip=f"Show photo {photo['id']} at full size",
                          _dom_classes=["cbm-photo-full"], layout=w.Layout(width="auto"))
        button.on_click(lambda _: self.show_full(int(photo["id"])))
        label = w.HTML(f'<div class="cbm-photo-label">{html.escape(photo_label(photo))}</div>'
                       + checks_html(photo))
        return w.VBox([image, label, button], _dom_classes=["cbm-photo", f"cbm-photo-{photo['id']}"],
                      layout=w.Layout(width="170px"))

    def show_full(self, photo_id: int) -> None:
        """Show the original of one of the listed photos below the thumbnails (HEIC: a link to save it)."""
        photo = next((p for p in self.photos if int(p["id"]) == photo_id), None)
        if photo is None:
            self.error = f"Photo {photo_id} is not a photo of parcel {self.parcel_id}."
            return
        close = w.Button(description="Close", _dom_classes=["cbm-photo-close"], layout=w.Layout(width="auto"))
        close.on_click(lambda _: self._close())
        with self.guard(f"loading photo {photo_id}"):
            original = self.client.fetch_bytes(photo["url"])
            size = f"{photo['width']} × {photo['height']} px"
            caption = w.HTML(f"<b>{html.escape(photo_label(photo))}</b> · {size}{checks_html(photo)}")
            if photo.get("media_type") == "image/jpeg":
                view: w.Widget = w.Image(value=original, format="jpeg", layout=w.Layout(max_width="100%"),
                                         _dom_classes=["cbm-photo-original"])
            else:  # browsers do not show HEIC: the upright thumbnail, the original to save
                name = f"photo{photo_id}.heic"
                view = w.VBox([w.Image(value=self.client.fetch_bytes(photo["thumbnail_url"]), format="jpeg"),
                               w.HTML(download_link(name, original, "image/heic",
                                                    label=f"Save the original ({name})"))],
                              _dom_classes=["cbm-photo-original"])
            self.viewer.children = (w.HBox([caption, close]), view)
            self.viewing = photo_id

    def _close(self) -> None:
        self.viewer.children, self.viewing = (), 0
