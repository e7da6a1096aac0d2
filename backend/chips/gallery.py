"""A minimal HTML gallery of PNG chips (``chipsByLocation`` with ``Accept: text/html``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from backend.chips.spec import ChipSpec

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1em}}figure{{display:inline-block;margin:.4em}}
img{{width:{px}px;height:{px}px;image-rendering:pixelated;border:1px solid #ccc}}
figcaption{{font-size:.8em;text-align:center}}</style></head>
<body><h1>{title}</h1><p>{count}</p>{figures}</body></html>
"""


def gallery_html(items: Sequence[Mapping[str, Any]], root_path: str, spec: ChipSpec) -> str:
    """HTML page showing chips (``date``, ``url``, ``cloud_fraction``), oldest first.

    Args:
        items: chips as returned by the JSON endpoint (URLs relative to the API root).
        root_path: the API's mount path, prefixed to the URLs.
        spec: the request (for the title).
    """
    figures = []
    for item in items:
        cloud = item.get("cloud_fraction")
        caption = escape(str(item["date"])[:19].replace("T", " "))
        if cloud is not None:
            caption += f" · cloud {cloud:.0%}"
        figures.append(f'<figure><img src="{escape(root_path + item["url"])}" alt="{caption}">'
                       f"<figcaption>{caption}</figcaption></figure>")
    title = escape(f"{spec.style} chips at {spec.lon:.5f}, {spec.lat:.5f}")
    count = f"{len(items)} image(s)" if items else "No image covers this location in the date range."
    return _PAGE.format(title=title, px=min(spec.size, 256), count=count, figures="".join(figures))
