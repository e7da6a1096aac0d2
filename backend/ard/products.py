"""The thin layer over sarsen and xarray-sentinel: metadata, calibration and terrain correction."""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path
from typing import Any

import xarray as xr

from backend.ard.safe import GrdFiles
from backend.errors import InvalidInput

log = logging.getLogger(__name__)

PROCESSOR = "cbm card s1"


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Versions of the libraries that make the product (recorded in the item)."""
    import sarsen
    import xarray_sentinel

    return {"sarsen": sarsen.__version__, "xarray-sentinel": xarray_sentinel.__version__}


def metadata(files: GrdFiles) -> dict[str, Any]:
    """Product attributes from the first polarisation's geolocation grid (xarray-sentinel)."""
    group = f"{files.mode}/{files.polarisations[0]}/gcp"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = xr.open_dataset(files.safe, engine="sentinel-1", group=group)
    except Exception as exc:  # xarray-sentinel raises bare exceptions on bad XML
        raise InvalidInput(f"{files.safe.name}: its annotation cannot be read ({type(exc).__name__}: "
                           f"{exc})") from None
    attrs = dict(ds.attrs)
    if attrs.get("product_type") != "GRD":
        raise InvalidInput(f"{files.safe.name}: the manifest says {attrs.get('product_type')}, not GRD")
    return attrs


def _product(files: GrdFiles, pol: str, radiometry: str) -> Any:
    from sarsen import sentinel1

    cls = _Sigma0Product() if radiometry == "sigma0" else sentinel1.Sentinel1SarProduct
    return cls(str(files.safe), f"{files.mode}/{pol}")


@functools.cache
def _Sigma0Product() -> type:  # a class factory: sarsen is imported lazily
    import xarray_sentinel
    from sarsen import sentinel1

    class Sigma0Product(sentinel1.Sentinel1SarProduct):
        """sarsen's Sentinel-1 product with sigma nought in place of beta nought."""

        @functools.cache  # noqa: B019  (as sarsen caches beta_nought; products are few)
        def beta_nought(self, persist: bool = False) -> xr.DataArray:
            measurement = self.measurement.data_vars["measurement"]
            sigma = xarray_sentinel.calibrate_intensity(measurement, self.calibration.sigmaNought)
            return sigma.drop_vars(["pixel", "line"])

    return Sigma0Product


def terrain_correct(files: GrdFiles, pol: str, dem: Path, out: Path, radiometry: str,
                    chunks: int) -> None:
    """Run sarsen on one polarisation onto the DEM's grid: ``rtc`` (gamma0) or ``gtc`` (sigma0).

    gamma0 is sarsen's ``rtc`` command (``correct_radiometry="gamma_bilinear"``), sigma0 its
    ``gtc`` command with the sigma nought calibration LUT.
    """
    from sarsen import apps

    product = _product(files, pol, radiometry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        apps.terrain_correction(product, str(dem), output_urlpath=str(out),
                                correct_radiometry="gamma_bilinear" if radiometry == "gamma0" else None,
                                chunks=chunks)


def item_properties(files: GrdFiles, meta: dict[str, Any], radiometry: str,
                    resolution: int) -> dict[str, Any]:
    """STAC properties of a CARD-BS item: platform, orbit, product, processing and radiometry."""
    platform = f"sentinel-{files.platform[1:].lower()}"
    v = versions()
    return {
        "platform": platform,
        "constellation": "sentinel-1",
        "instruments": ["c-sar"],
        "sar:instrument_mode": files.mode,
        "sar:frequency_band": "C",
        "sar:polarizations": list(files.polarisations),
        "sar:product_type": "CARD-BS",
        "sat:orbit_state": str(meta["pass"]).lower(),
        "sat:relative_orbit": int(meta["relative_orbit_number"]),
        "sat:absolute_orbit": int(meta["orbit_number"]),
        "start_datetime": meta["start_time"] + "Z",
        "end_datetime": meta["stop_time"] + "Z",
        "gsd": resolution,
        "s1:source_product": files.safe.name,
        "s1:radiometry": radiometry,
        "s1:thermal_noise_removed": False,
        "s1:terrain_correction": "sarsen rtc (gamma_bilinear)" if radiometry == "gamma0" else "sarsen gtc",
        "processing:software": {PROCESSOR: "1", **v},
        "processing:level": "L2",
        "cbm:processing_version": f"card-bs-1 sarsen-{v['sarsen']}",
    }
