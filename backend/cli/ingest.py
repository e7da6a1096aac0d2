"""``cbm import``, ``cbm catalogue`` and ``cbm extract``: inputs and signatures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.base import Aoi, Ptype, Replace, Year, app, echo, lonlat_box, settings

import_app = typer.Typer(help="Import agencies' data (parcel sets).", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("parcels")
def import_parcels_cmd(
    file: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet "
                                              "or GML, or a zip / 7z holding one.")],
    aoi: Aoi,
    year: Year,
    ptype: Ptype = "",
    id_col: Annotated[list[str] | None, typer.Option(
        help="Column of the parcel id; repeat for a composite id (joined with '_').")] = None,
    id_from_row: Annotated[bool, typer.Option(
        help="Number the rows as ids (sets without any id; such ids do not carry over between "
             "years).")] = False,
    crop_code_col: Annotated[str | None, typer.Option(help="Column of the crop code.")] = None,
    crop_name_col: Annotated[str | None, typer.Option(help="Column of the crop name.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer or file to read (several candidates).")] = None,
    mapping: Annotated[str | None, typer.Option(help="YAML column mapping (pid, cropcode, cropname, "
                                                     "layer, id_from_row), or a shipped one by "
                                                     "name, e.g. nl.")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that has none, e.g. EPSG:28992.")] = None,
    force_crs: Annotated[str | None, typer.Option(help="CRS replacing the one the file declares "
                                                       "(files known to lie).")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="Import the valid rows when some are rejected "
                                                    "(exit code 4).")] = False,
    extent: Annotated[str | None, typer.Option(help="AOI extent minlon,minlat,maxlon,maxlat: "
                                                    "parcels outside are rejected.")] = None,
    replace: Replace = False,
    report: Annotated[Path | None, typer.Option(help="Write the validation report here "
                                                     "(.csv or .json).")] = None,
    max_overlap_share: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Refuse the import (exit 65, nothing imported) when two parcels "
                               "overlap by more than this share of the smaller one; overrides "
                               "CBM_MAX_OVERLAP_SHARE (default 1: every overlap imported).")] = None,
) -> None:
    """Import a parcel set (all or nothing), with a per-row report of repairs and rejections.

    Exit 0 when every row was imported, 4 when --skip-invalid left rows out, 65 when the
    import was refused (nothing imported), e.g. overlaps above --max-overlap-share.
    """
    from backend.parcels import ColumnMapping, import_parcels, load_mapping

    if crs and force_crs:
        raise typer.BadParameter("give --crs (files without a CRS) or --force-crs, not both")
    cols = (load_mapping(mapping) if mapping else ColumnMapping()).override(
        pid=tuple(id_col) if id_col else None, id_from_row=id_from_row, cropcode=crop_code_col,
        cropname=crop_name_col, layer=layer)
    cfg = settings()
    if max_overlap_share is not None:  # the flag wins over CBM_MAX_OVERLAP_SHARE
        cfg = cfg.model_copy(update={"max_overlap_share": max_overlap_share})
    r = import_parcels(cfg, file, aoi=aoi, year=year, ptype=ptype, mapping=cols,
                       crs=force_crs or crs, force_crs=bool(force_crs), skip_invalid=skip_invalid,
                       replace=replace, report_path=report, aoi_extent=lonlat_box(extent),
                       progress=True)
    n_null = sum(1 for row in r.report if row.code == "null_crop")
    echo(f"imported {r.n_imported} of {r.n_read} parcels into {aoi} {year} (set {r.set_id}, "
         f"EPSG:{r.srid}): {r.n_repaired} repaired, {r.n_rejected} rejected, {n_null} without crop, "
         f"{r.n_jobs} extraction jobs, {r.seconds:.1f} s")
    for warning in r.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if n_overlap := sum(1 for row in r.report if row.code == "overlap"):
        typer.echo(f"warning: {n_overlap} pairs of parcels overlap (each keeps all its own pixels in "
                   "extraction; --max-overlap-share refuses them): see the report", err=True)
    echo(f"report: {r.report_path}")
    if r.n_rejected:
        typer.echo(f"{r.n_rejected} rows skipped (--skip-invalid): see the report", err=True)
        raise typer.Exit(EXIT_PARTIAL)


@import_app.command("crops")
def import_crops_cmd(
    file: Annotated[Path, typer.Argument(help="CSV crop table: code, and optionally name, group "
                                              "(arable, grassland, permanent, fallow, landscape, "
                                              "other) and hcat (EuroCrops HCAT code).")],
    aoi: Aoi,
    year: Year,
) -> None:
    """Load a crop table (code -> name, group, HCAT) for an AOI and year, replacing the previous one."""
    from backend.parcels.crops import import_crops

    r = import_crops(settings(), file, aoi=aoi, year=year)
    echo(f"crop table {aoi} {year}: {r.n_codes} codes ({r.n_without_name} without a name), "
         f"{r.n_replaced} previous codes replaced")


catalogue_app = typer.Typer(help="The image catalogue (STAC).", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")


EXIT_PARTIAL = 4  # some input rejected, the rest done (README exit-code table)
EXIT_INVALID = 65
EXIT_LEASE_LOST = 75  # cbm extract: a claimed job was taken over after this worker stalled past its lease


@catalogue_app.command("add")
def catalogue_add(
    source: Annotated[str, typer.Argument(help="STAC API URL; STAC item, item collection, JSON array, "
                                               "catalogue or collection JSON; NDJSON file; a folder "
                                               "of item files; or a folder of COGs.")],
    collection: Annotated[str | None, typer.Option(help="Collection to search / assign.")] = None,
    kind: Annotated[str | None, typer.Option(help="s2, bs or c6 (folders of COGs).")] = None,
    profile: Annotated[Path | None, typer.Option(help="YAML file of asset-name profiles, tried "
                                                      "before the built-in ones.")] = None,
    bbox: Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat (STAC API).")] = None,
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date, YYYY-MM-DD.")] = None,
    max_cloud: Annotated[float | None, typer.Option(min=0, max=100, help="Max cloud cover %.")] = None,
) -> None:
    """Add images to the catalogue (idempotent) and create their extraction jobs.

    Prints one line per rejected item (stderr) and the counts per profile. Exit 0 when
    nothing was rejected, 4 when some items were rejected and others kept, 65 when every
    item was rejected.
    """
    from backend.catalogue import add_source

    r = add_source(settings(), source, collection=collection, kind=kind, profile=profile,
                   bbox=lonlat_box(bbox), start=start, end=end, max_cloud=max_cloud,
                   progress=True, on_error=lambda rej: typer.echo(f"rejected: {rej}", err=True))
    for line in r.profile_lines():
        echo(line)
    echo(str(r))
    if r.rejected:
        raise typer.Exit(EXIT_PARTIAL if r.kept else EXIT_INVALID)


@catalogue_app.command("list")
def catalogue_list(
    kind: Annotated[str | None, typer.Option(help="s2, bs or c6.")] = None,
) -> None:
    """Summarise the catalogue: images per collection and date range."""
    from backend.catalogue import summary

    for row in summary(settings()):
        if kind is None or row.get("kind") == kind:
            echo("  ".join(f"{k}={v}" for k, v in row.items()))


@app.command("extract")
def extract_cmd(
    aoi: Aoi,
    year: Year,
    ptype: Ptype = "",
    limit: Annotated[int | None, typer.Option(min=1, help="Process at most this many jobs.")] = None,
    force: Annotated[bool, typer.Option(help="Re-extract finished and failed jobs (replaces rows).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Extract parcel signatures: claim pending jobs (image x parcel set) until none is left."""
    from backend.extraction import extract

    r = extract(settings(), aoi=aoi, year=year, ptype=ptype, limit=limit, force=force, progress=progress)
    echo(f"{r.done} images done, {r.retried} to retry, {r.failed} failed, {r.rows} band-rows "
         f"for {r.parcels} parcel-images in {r.seconds:.1f} s")
    for job_id, message in r.errors:
        typer.echo(f"job {job_id}: {message}", err=True)
    if r.lost:
        typer.echo(f"{r.lost} job(s) taken over by another worker: this worker stalled past its lease "
                   f"(CBM_JOB_LEASE_S) and wrote none of their rows; the other worker does them", err=True)
    if r.failed:
        raise typer.Exit(1)
    if r.lost:
        raise typer.Exit(EXIT_LEASE_LOST)


from backend.cli import ancillary  # noqa: E402,F401  (registers `cbm import weather`)
