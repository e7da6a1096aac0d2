"""The annual QA report: HTML (and PDF through WeasyPrint), stored as an audit record.

The report holds the sample design (method, strata, allocation, seed, sizes, frame counts), the
catalogue, rule and marker versions in force, per condition the estimates with their intervals
(a figure and a table), the confusion tables and the list of disagreements, each linking to
its case file in the review dashboard (``review.ipynb?aoi=&year=&parcel_id=``). Each report is
stored (``qa_reports``) with its estimates, versions and SHA-256; a report on the synthetic
demo area says so at the top.
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from backend.db import queries_qa as q
from backend.errors import NotFound
from backend.parcels.sets import ParcelSetKey
from backend.qa.estimation import COLOURS, METRICS, TRUTHS
from backend.qa.measure import measure
from backend.qa.samples import sample_of

DEFAULT_DASHBOARD_URL = "http://127.0.0.1:8866/voila/render"
LABELS = {"agreement": "Agreement", "wrong_green": "Wrong green rate", "wrong_red": "Wrong red rate",
          "yellow_share": "Yellow share", "cannot_tell_share": "Truth cannot be told"}
_CSS = ("body{font:13px sans-serif;margin:2em;max-width:64em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #999;padding:2px 6px;text-align:left}.synthetic{background:#fce8b2;"
        "border:2px solid #e0a800;padding:.5em;font-weight:bold}.num{text-align:right}")


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f} %"


class _Raw(str):
    """Already escaped HTML for a table cell."""


def _table(head: list[str], rows: list[list[Any]]) -> str:
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else _e(c)}</td>" for c in r) + "</tr>"
                for r in rows)
    return f"<table><tr>{h}</tr>{b}</table>"


def _figure(metrics: dict[str, Any]) -> str:
    """Estimates as dots with their intervals as bars on a 0-100 % axis (inline SVG)."""
    width, left, row = 520, 150, 22
    scale = (width - left - 20) / 100
    parts = [f'<svg class="qa-figure" width="{width}" height="{row * len(METRICS) + 24}" '
             'xmlns="http://www.w3.org/2000/svg" font-size="11">']
    for t in range(0, 101, 25):
        x = left + t * scale
        parts.append(f'<line x1="{x}" y1="0" x2="{x}" y2="{row * len(METRICS)}" stroke="#ddd"/>'
                     f'<text x="{x}" y="{row * len(METRICS) + 14}" text-anchor="middle">{t} %</text>')
    for i, name in enumerate(METRICS):
        m, y = metrics[name], i * row + row / 2
        parts.append(f'<text x="4" y="{y + 4}">{_e(LABELS[name])}</text>')
        if m["estimate"] is None:
            continue
        lo, hi, est = (left + 100 * m[k] * scale for k in ("low", "high", "estimate"))
        parts.append(f'<line x1="{lo}" y1="{y}" x2="{hi}" y2="{y}" stroke="#333" stroke-width="2"/>'
                     f'<circle cx="{est}" cy="{y}" r="4" fill="#1565c0"/>')
    return "".join(parts) + "</svg>"


def _metrics_table(metrics: dict[str, Any], confidence: float) -> str:
    rows = [[LABELS[n], _pct(m["estimate"]), f"{_pct(m['low'])} – {_pct(m['high'])}", m["k"], m["m"],
             m["method"] or "no unit in the domain"] for n, m in ((n, metrics[n]) for n in METRICS)]
    return _table(["measure", "estimate", f"{confidence:.0%} interval", "k", "of m", "interval method"], rows)


def _confusion_table(conf: dict[str, Any]) -> str:
    rows = [[c, *(f"{conf['counts'][c][t]} ({conf['weighted'][c][t]:.0f})" for t in TRUTHS)] for c in COLOURS]
    return _table(["system \\ truth: sample (estimated population)", *TRUTHS], rows)


def _design(s: dict[str, Any]) -> str:
    d = s["design"]
    rows = [["method", d["method"]], ["strata", ", ".join(d["strata_by"]) or "none (simple random)"],
            ["allocation", d["allocation"] or "–"], ["seed", f"{d['seed']} ({d['rng']})"],
            ["size / precision", d["size"] if d["size"] is not None
             else f"±{d['precision']} at {d['confidence']:.0%} (expected rate {d['expected_rate']})"],
            ["frame", f"{d['frame']['n_decisions']} decisions of marker run {s['run_id']}"],
            ["drawn", f"{s['created_at']:%Y-%m-%d %H:%M} UTC by {s['created_by'] or '-'}"]]
    strata = [[c, v["N"], v["n"], "; ".join(f"{h}: {x['n']} of {x['N']}" for h, x in v["strata"].items())]
              for c, v in d["conditions"].items()]
    return (_table(["design", ""], rows) + _table(["condition", "decisions N", "sampled n", "strata"], strata)
            + "<h3>Versions in force</h3>"
            + _table(["", ""], [[k, json.dumps(v) if isinstance(v, dict) else v]
                                for k, v in d["versions"].items()]))


def _disagreements(rows: list[dict[str, Any]], key: ParcelSetKey, dashboard_url: str) -> str:
    if not rows:
        return "<p>No disagreement among the inspected units.</p>"
    out = []
    for r in rows:
        url = f"{dashboard_url.rstrip('/')}/review.ipynb?" + urlencode(
            {"aoi": key.aoi, "year": key.year, "parcel_id": r["pid"]})
        evidence = "; ".join(f"{f['filename']} (SHA-256 {f['sha256'][:12]}…)" for f in r.get("evidence", []))
        out.append([_Raw(f'<a href="{_e(url)}">{_e(r["pid"])}</a>'), r["condition"], r["colour"], r["truth"],
                    r["method"], r["inspector"], r["inspected_on"], r["comment"], evidence or "–"])
    return _table(["parcel (case file)", "condition", "system", "truth", "method", "inspector", "date",
                   "comment", "evidence attached"], out)


def render(s: dict[str, Any], m: dict[str, Any], key: ParcelSetKey, dashboard_url: str) -> str:
    """The report page of a sample ``s`` and its measurement ``m``."""
    title = f"Annual quality assessment — {key.aoi} {key.year}, sample {s['id']}"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"]
    if m["synthetic"]:
        parts.append("<p class='synthetic'>SYNTHETIC DATA: this report is made on the synthetic demo area; "
                     "its parcels, imagery and inspections are generated, nothing in it is real.</p>")
    parts.append(f"<p>{m['n_inspected']} of {m['n_units']} sampled units inspected. Generated "
                 f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p><h2>Sample design</h2>{_design(s)}")
    for cond, c in m["conditions"].items():
        parts.append(f"<h2>Condition {_e(cond)}</h2><p>{c['inspected']} inspected of {c['n']} sampled "
                     f"({c['N']} decisions).</p>{_figure(c['metrics'])}"
                     f"{_metrics_table(c['metrics'], m['confidence'])}<h3>Confusion table</h3>"
                     f"{_confusion_table(c['confusion'])}")
    parts.append(f"<h2>Disagreements ({len(m['disagreements'])})</h2>"
                 f"{_disagreements(m['disagreements'], key, dashboard_url)}</body></html>")
    return "".join(parts)


def build(conn: q.Conn, key: ParcelSetKey, sample_id: int, *, dashboard_url: str = DEFAULT_DASHBOARD_URL,
          created_by: str | None = None) -> dict[str, Any]:
    """Measure a sample, render and store its report (``id``, ``html``, ``sha256``, ``measurement``)."""
    s = sample_of(conn, key, sample_id)
    m = measure(conn, key, sample_id)
    page = render(s, m, key, dashboard_url)
    digest = hashlib.sha256(page.encode()).hexdigest()
    row = q.insert_report(conn, sample_id, s["design"]["versions"], json.loads(json.dumps(m, default=str)),
                          page, digest, created_by)
    return {"id": row["id"], "created_at": row["created_at"], "html": page, "sha256": digest,
            "measurement": m}


def stored(conn: q.Conn, key: ParcelSetKey, sample_id: int) -> dict[str, Any]:
    """The newest stored report of a sample.

    Raises:
        NotFound: no report stored yet.
    """
    sample_of(conn, key, sample_id)
    row = q.latest_report(conn, sample_id)
    if row is None:
        raise NotFound(f"QA sample {sample_id} has no report yet: make one with `cbm qa report`")
    return row


def to_pdf(page: str) -> bytes:
    """The report page as PDF (WeasyPrint)."""
    import weasyprint
    from PIL import ImageFile

    # WeasyPrint's import sets Pillow's process-wide LOAD_TRUNCATED_IMAGES: put the default back,
    # or every truncated image decoded later in this process (photo uploads) passes as intact
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return bytes(weasyprint.HTML(string=page).write_pdf())
