"""``cbm qa``: annual quality assessment (sample, import inspections, measure, report)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from backend.cli.base import Aoi, Year, app, echo, settings

if TYPE_CHECKING:
    from backend.parcels.sets import ParcelSetKey

qa_app = typer.Typer(help="Annual quality assessment: sample decisions, inspect, measure, report.",
                     no_args_is_help=True)
app.add_typer(qa_app, name="qa")

SampleId = Annotated[int, typer.Option("--sample", help="QA sample id (see `cbm qa list`).")]


def _key(aoi: str, year: int) -> ParcelSetKey:
    from backend.parcels.sets import ParcelSetKey

    return ParcelSetKey(aoi, year)


@qa_app.command("sample")
def qa_sample(
    aoi: Aoi, year: Year,
    condition: Annotated[list[str], typer.Option(help="Condition id (repeat for several).")],
    size: Annotated[int | None, typer.Option(help="Units per condition.")] = None,
    precision: Annotated[float | None, typer.Option(help="Interval half-width, e.g. 0.02.")] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level of the precision.")] = 0.95,
    expected_rate: Annotated[float, typer.Option(help="Anticipated rate for the precision size.")] = 0.5,
    strata: Annotated[str, typer.Option(help="colour, crop_group or colour,crop_group; none: SRS.")] = "",
    allocation: Annotated[str, typer.Option(help="proportional or neyman (stratified).")] = "proportional",
    seed: Annotated[int | None, typer.Option(help="Seed of the draw (random, recorded, if absent).")] = None,
) -> None:
    """Draw a new reproducible sample over the set's decisions (never replaces an earlier one)."""
    from backend.db import connect
    from backend.qa.samples import draw_sample
    from backend.qa.sampling import SampleSpec

    spec = SampleSpec(tuple(condition), size, precision, confidence, expected_rate,
                      tuple(s.strip() for s in strata.split(",") if s.strip()), allocation, seed)
    with connect(settings()) as conn:
        r = draw_sample(conn, _key(aoi, year), spec, created_by=getpass.getuser())
    echo(f"QA sample {r['id']}: {r['n_units']} units over marker run {r['run_id']} (seed {r['seed']})")
    for cond, c in r["design"]["conditions"].items():
        strata_txt = ", ".join(f"{h} {v['n']}/{v['N']}" for h, v in c["strata"].items())
        echo(f"  {cond}: {c['n']} of {c['N']} decisions ({strata_txt})")


@qa_app.command("list")
def qa_list(aoi: Aoi, year: Year) -> None:
    """List the QA samples of a set with their inspection progress."""
    from backend.db import connect
    from backend.qa.samples import list_samples

    with connect(settings()) as conn:
        rows = list_samples(conn, _key(aoi, year))
    for r in rows:
        echo(f"{r['id']}\t{r['created_at']:%Y-%m-%d %H:%M}\trun {r['run_id']}\t{r['method']}\t"
             f"{','.join(r['conditions'])}\t{r['n_inspected']}/{r['n_units']} inspected")


@qa_app.command("assign")
def qa_assign(aoi: Aoi, year: Year, sample: SampleId,
              users: Annotated[list[str], typer.Argument(help="Usernames of the inspectors.")],
              remove: Annotated[bool, typer.Option("--remove", help="Take them off the sample.")] = False,
              ) -> None:
    """Assign inspectors to a sample: only they record its inspections in the API, blind meanwhile."""
    from backend.db import connect
    from backend.qa.inspectors import assign

    with connect(settings()) as conn:
        r = assign(conn, _key(aoi, year), sample, users, assigned_by=getpass.getuser(), remove=remove)
    echo(f"QA sample {sample}: {r['changed']} {'removed' if remove else 'assigned'}; inspectors: "
         + (", ".join(r["inspectors"]) or "none"))
    if r["reach_decisions"]:
        who = ", ".join(r["reach_decisions"])
        typer.echo(f"warning: {who} can read the decisions outside the API (analyst notebooks, SQL): the "
                   "inspection is blind for them only in the API and the dashboards; assign consumers for "
                   "a blind QA", err=True)


@qa_app.command("import")
def qa_import(aoi: Aoi, year: Year, sample: SampleId,
              csv_file: Annotated[Path, typer.Argument(help="CSV: pid,condition,truth,method,inspector,"
                                                           "date,comment.")]) -> None:
    """Import inspections from a CSV file, all or nothing."""
    from backend.db import connect
    from backend.errors import NotFound
    from backend.qa.inspections import import_csv

    if not csv_file.is_file():
        raise NotFound(f"no file {csv_file}")
    with connect(settings()) as conn:
        n = import_csv(conn, _key(aoi, year), sample, csv_file.read_text(encoding="utf-8-sig"),
                       getpass.getuser())
    echo(f"{n} inspections imported into QA sample {sample}")


@qa_app.command("measure")
def qa_measure(aoi: Aoi, year: Year, sample: SampleId,
               as_json: Annotated[bool, typer.Option("--json", help="Print the full JSON.")] = False) -> None:
    """Print the estimates with their intervals per condition."""
    from backend.db import connect
    from backend.qa.measure import measure

    with connect(settings()) as conn:
        m = measure(conn, _key(aoi, year), sample)
    if as_json:
        echo(json.dumps(m, default=str, indent=1))
        return
    echo(f"QA sample {sample}: {m['n_inspected']}/{m['n_units']} inspected"
         + (" (SYNTHETIC demo data)" if m["synthetic"] else ""))
    for cond, c in m["conditions"].items():
        echo(f"  {cond} ({c['inspected']} inspected of {c['N']} decisions):")
        for name, v in c["metrics"].items():
            est = "-" if v["estimate"] is None else (f"{v['estimate']:.3f} [{v['low']:.3f}, {v['high']:.3f}] "
                                                     f"({v['k']}/{v['m']}, {v['method']})")
            echo(f"    {name}: {est}")


@qa_app.command("report")
def qa_report(
    aoi: Aoi, year: Year, sample: SampleId,
    out: Annotated[Path | None, typer.Option(help="Write the HTML here too.")] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write a PDF here too.")] = None,
    dashboard_url: Annotated[str, typer.Option(help="Base URL of the dashboards (case-file links).")
                             ] = "http://127.0.0.1:8866/voila/render",
) -> None:
    """Make the annual QA report of a sample and store it as an audit record."""
    from backend.db import connect
    from backend.qa import report

    with connect(settings()) as conn:
        r = report.build(conn, _key(aoi, year), sample, dashboard_url=dashboard_url,
                         created_by=getpass.getuser())
    if out:
        out.write_text(r["html"], encoding="utf-8")
    if pdf:
        pdf.write_bytes(report.to_pdf(r["html"]))
    echo(f"QA report {r['id']} of sample {sample} stored (sha256 {r['sha256'][:16]})"
         + (f", {out}" if out else "") + (f", {pdf}" if pdf else ""))
