"""``cbm card s1``: Sentinel-1 CARD-BS (calibrated, terrain-corrected backscatter) from GRD."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.base import Replace, app, echo, lonlat_box, settings

card_app = typer.Typer(help="Make analysis-ready data from Level-1 products.", no_args_is_help=True)
app.add_typer(card_app, name="card")


@card_app.command("s1")
def card_s1_cmd(
    source: Annotated[str, typer.Argument(help="GRD .SAFE folder or .zip (local or s3://), or a STAC "
                                               "item file of a GRD product.")],
    crs: Annotated[str, typer.Option(help="UTM zone of the output grid, e.g. EPSG:32633.")],
    out: Annotated[Path, typer.Option(help="Folder of the products (one sub-folder per product).")],
    resolution: Annotated[int, typer.Option(help="Pixel size: 10 or 20 m.")] = 10,
    bbox: Annotated[str | None, typer.Option(help="Only this part, minlon,minlat,maxlon,maxlat "
                                                  "(default: the whole footprint).")] = None,
    radiometry: Annotated[str, typer.Option(help="gamma0 (terrain-flattened, sarsen rtc) or sigma0 "
                                                 "(sarsen gtc).")] = "gamma0",
    denoise: Annotated[bool, typer.Option(help="Remove the thermal noise (ESA's noise vectors of the "
                                               "SAFE) before calibrating.")] = True,
    catalogue: Annotated[bool, typer.Option(help="Add the product to the image catalogue.")] = True,
    replace: Replace = False,
) -> None:
    """Calibrate and terrain-correct a GRD product on the DEM of CBM_DEM into COGs + a STAC item.

    Exit 65 when the product or DEM is refused (nothing written, nothing catalogued), 78 when
    no DEM is configured.
    """
    from backend.ard import CardSpec, card_s1

    spec = CardSpec(crs=crs, resolution=resolution, bbox=lonlat_box(bbox, ordered=True),
                    radiometry=radiometry, denoise=denoise)
    r = card_s1(settings(), source, out, spec, catalogue=catalogue, replace=replace)
    rows, cols = r.grid.shape
    noise = "thermal noise removed" if denoise else "thermal noise kept"
    echo(f"{r.item_id}: {', '.join(r.assets)} {spec.radiometry} ({noise}) on {cols} x {rows} pixels of "
         f"{r.grid.resolution} m ({r.grid.crs}) in {r.folder}, {r.catalogued} catalogued, "
         f"{r.seconds:.1f} s")
