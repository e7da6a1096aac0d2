"""``explain``: the story of one parcel's decisions in plain words, from the stored run."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from backend.db import connect
from backend.db import queries_markers as q
from backend.errors import NotFound, ParcelNotFound
from backend.markers.decisions import replay
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings


def _day(year: int, d: int) -> str:
    return (date(year, 1, 1) + timedelta(days=int(d))).isoformat()


def _result_line(r: dict[str, Any]) -> str:
    ev = r["evidence"]
    if r["marker"] == "crop_consistency":
        return f"  crop consistency score {r['value']:.2f} (nearest other crop {ev['nearest_other_crop']})"
    span = f"{r['start_date']}" + (f" .. {r['end_date']}" if r["end_date"] != r["start_date"] else "")
    used = ", ".join(f"{k}={v}" for k, v in sorted(ev.items()) if k not in ("day", "source"))
    return f"  {r['marker']:<10} {span:<24} confidence {r['confidence']:.2f} via {ev['source']}: {used}"


def _decision_lines(d: dict[str, Any], year: int) -> list[str]:
    ev = d["evidence"]
    obs = ev["observations"]
    colour, _ = replay(ev)
    check = "replays identically" if colour == d["colour"] else f"REPLAY GIVES {colour}"
    lines = [f"  [{d['colour'].upper():<6}] {d['condition']}: {d['reason']}",
             f"           {len(obs['s2_clear_days'])} clear S2 images and {obs['s1_dates']} S1 dates in the "
             f"window; {len(obs['s2_masked'])} S2 images masked"]
    masked = ", ".join(f"{_day(year, x[0])} ({x[1]})" for x in obs["s2_masked"][:6])
    if masked:
        lines.append(f"           masked: {masked}{' ...' if len(obs['s2_masked']) > 6 else ''}")
    lines.append(f"           catalogue {ev['catalogue']['name']} {ev['catalogue']['version']}, "
                 f"rule {ev['rule_version']}, markers {ev['marker_versions']}; evidence {check}")
    return lines


def explain(settings: Settings, *, aoi: str, year: int, pid: str, run_id: int | None = None) -> str:
    """Return the story of a parcel's markers and decisions in the latest (or given) run."""
    with connect(settings) as conn:
        st = resolve_set(conn, ParcelSetKey(aoi, year))
        parcel = q.parcel_by_pid(conn, st["id"], pid)
        if parcel is None:
            raise ParcelNotFound(f"no parcel {pid!r} in {aoi} {year}")
        run = q.latest_run(conn, st["id"]) if run_id is None else {"id": run_id}
        if run is None:
            raise NotFound(f"no marker run for {aoi} {year}: run `cbm markers run` first")
        results = q.parcel_results(conn, run["id"], st["id"], parcel["id"])
        decisions = q.parcel_decisions(conn, run["id"], st["id"], parcel["id"])
    lines = [f"Parcel {pid} ({aoi} {year}), declared {parcel['cropcode']} {parcel['cropname'] or ''}".rstrip()
             + f"; marker run {run['id']}", "Markers:"]
    lines += [_result_line(r) for r in results] or ["  none found"]
    lines.append("Decisions:")
    for d in decisions:
        lines += _decision_lines(d, year)
    if not decisions:
        lines.append("  no condition of the catalogue applies to this parcel")
    return "\n".join(lines)
