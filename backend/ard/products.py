"""The thin layer over sarsen and xarray-sentinel: metadata, calibration and terrain correction."""

from __future__ import annotations

import functools
import logging
import warnings
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import xarray as xr

from backend.ard import noise
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


_NS = {"safe": "http://www.esa.int/safe/sentinel-1.0", "gml": "http://www.opengis.net/gml",
       "s1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1",
       "s1sarl1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1"}


def metadata(files: GrdFiles) -> dict[str, Any]:
    """Product attributes from ``manifest.safe``: type, pass, orbits, times, footprint (WKT).

    The manifest is read directly (plain XML, milliseconds); xarray-sentinel's annotation
    reading costs about a second per group and sarsen does it anyway for the physics.
    """
    try:
        root = ElementTree.parse(files.safe / "manifest.safe").getroot()
        text = {k: root.findtext(path, namespaces=_NS) for k, path in {
            "product_type": ".//s1sarl1:productType", "pass": ".//s1:pass",
            "relative_orbit_number": ".//safe:relativeOrbitNumber[@type='start']",
            "orbit_number": ".//safe:orbitNumber[@type='start']", "start_time": ".//safe:startTime",
            "stop_time": ".//safe:stopTime", "coordinates": ".//gml:coordinates"}.items()}
        latlon = [tuple(float(v) for v in p.split(",")) for p in (text["coordinates"] or "").split()]
    except (ElementTree.ParseError, OSError, ValueError) as exc:
        raise InvalidInput(f"{files.safe.name}: manifest.safe cannot be read: {exc}") from None
    missing = [k for k, v in text.items() if not v]
    if missing or len(latlon) < 3:
        raise InvalidInput(f"{files.safe.name}: manifest.safe lacks {', '.join(missing) or 'a footprint'}")
    if text["product_type"] != "GRD":
        raise InvalidInput(f"{files.safe.name}: the manifest says {text['product_type']}, not GRD")
    ring = ", ".join(f"{lon} {lat}" for lat, lon in [*latlon, latlon[0]])
    return {**text, "geospatial_bounds": f"POLYGON(({ring}))"}


def product(files: GrdFiles, pol: str, radiometry: str, denoise: bool) -> Any:
    """The sarsen product of one polarisation, calibrated to ``radiometry``'s LUT, denoised or not.

    gamma0 without denoising is sarsen's own product (its ``rtc`` command); otherwise the
    intensity sarsen starts from is ``(DN² - noise) / A²`` or ``DN² / A²``, with the sigma nought
    LUT for sigma0 and the beta nought LUT for gamma0 (sarsen flattens beta nought).
    """
    from sarsen import sentinel1

    if radiometry == "gamma0" and not denoise:
        return sentinel1.Sentinel1SarProduct(str(files.safe), f"{files.mode}/{pol}")
    p = _CalibratedProduct()(str(files.safe), f"{files.mode}/{pol}")
    p.cbm_lut = "sigmaNought" if radiometry == "sigma0" else "betaNought"
    p.cbm_noise = noise.read_noise(noise.noise_xml(files.safe, pol)) if denoise else None
    return p


@functools.cache
def _CalibratedProduct() -> type:  # a class factory: sarsen is imported lazily
    import xarray_sentinel
    from sarsen import sentinel1

    class CalibratedProduct(sentinel1.Sentinel1SarProduct):
        """The sarsen Sentinel-1 product, its "beta nought" calibrated with ``cbm_lut``.

        When ``cbm_noise`` is set, it is calibrated from the denoised amplitude.
        """

        cbm_lut = "betaNought"
        cbm_noise: noise.NoiseModel | None = None

        @functools.cache  # noqa: B019  (as sarsen caches beta_nought; products are few)
        def beta_nought(self, persist: bool = False) -> xr.DataArray:
            measurement = self.measurement.data_vars["measurement"]
            if self.cbm_noise is not None:
                measurement = noise.denoised_amplitude(measurement, self.cbm_noise)
            intensity = xarray_sentinel.calibrate_intensity(measurement, self.calibration[self.cbm_lut])
            return intensity.drop_vars(["pixel", "line"])

    return CalibratedProduct


def terrain_correct(files: GrdFiles, pol: str, dem: Path, out: Path, radiometry: str,
                    chunks: int, denoise: bool) -> None:
    """Run sarsen on one polarisation onto the DEM's grid: ``rtc`` (gamma0) or ``gtc`` (sigma0).

    gamma0 is sarsen's ``rtc`` command (``correct_radiometry="gamma_bilinear"``), sigma0 its
    ``gtc`` command with the sigma nought calibration LUT; both from the denoised intensity when
    ``denoise`` (:mod:`backend.ard.noise`).
    """
    from sarsen import apps

    sar = product(files, pol, radiometry, denoise)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        apps.terrain_correction(sar, str(dem), output_urlpath=str(out),
                                correct_radiometry="gamma_bilinear" if radiometry == "gamma0" else None,
                                chunks=chunks, radiometry_chunks=radiometry_chunks(dem))


def radiometry_chunks(dem: Path, bound: int = 128, size: int = 2048) -> int:
    """The radiometry chunk size of sarsen (2048) unless the grid leaves a last chunk under its overlap.

    sarsen's ``map_overlap`` (bound 128) fails with "Overlap depth is larger than smallest
    chunksize" on a grid of e.g. 2 119 columns (2048 + 71); a smaller chunk avoids that and gives
    the same values (the overlap covers the gamma weights' reach either way).
    """
    import rasterio

    with rasterio.open(dem) as src:
        dims = (src.height, src.width)
    while size > 2 * bound and any(0 < d % size < bound for d in dims):
        size -= bound
    return size


def item_properties(files: GrdFiles, meta: dict[str, Any], radiometry: str,
                    resolution: int, denoise: bool) -> dict[str, Any]:
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
        "s1:thermal_noise_removed": denoise,
        "s1:terrain_correction": "sarsen rtc (gamma_bilinear)" if radiometry == "gamma0" else "sarsen gtc",
        "processing:software": {PROCESSOR: "1", **v},
        "processing:level": "L2",
        "cbm:processing_version": f"card-bs-1 sarsen-{v['sarsen']}",
    }
