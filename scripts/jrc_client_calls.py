"""Every public call of the unmodified JRC ``cbm`` 0.0.18 client, run in the client's own virtualenv.

Started by ``scripts/jrc_client_check.py`` (never imported by the project) in a working
directory holding ``config/main.json``:

    python jrc_client_calls.py '{"aoi": ..., "year": ..., "pid": ..., "lon": ..., "lat": ...,
                                 "tms": ..., "start": ..., "end": ..., "polygon": ...}'

Prints one line per call; exits 1 at the first failure (an assertion or the client's own
exception, with its traceback). The plotting helpers run headless (matplotlib ``Agg``); with
``CBM_JRC_FIGURES=<dir>`` their figures are saved there as PNG.
"""

import json
import os
import sys
import traceback
from os.path import isfile, join

import matplotlib

matplotlib.use("Agg")
import requests

_get = requests.get


def _no_pypi(url, *args, **kwargs):
    """The client asks PyPI for a newer version on import, with no timeout: answer for it."""
    if "pypi.org" in str(url):
        class Answer:
            def json(self):
                return {"info": {"version": "0.0.18"}}
        return Answer()
    return _get(url, *args, **kwargs)


requests.get = _no_pypi

import cbm  # noqa: E402, F401
import pandas as pd  # noqa: E402
from cbm.get import background, chip_images, parcel_info, parcels_list, time_series  # noqa: E402
from cbm.show import background as show_background  # noqa: E402
from cbm.show import chip_images as show_chips  # noqa: E402
from cbm.show import parcel_info as show_parcel  # noqa: E402
from cbm.show import time_series as show_ts  # noqa: E402
from cbm.utils import config  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

A = json.loads(sys.argv[1])
AOI, YEAR, PID, LON, LAT, TMS = A["aoi"], A["year"], A["pid"], A["lon"], A["lat"], A["tms"]
TEMP = config.get_value(["paths", "temp"])
PDIR = join(TEMP, AOI, str(YEAR), PID)


def step(name, fn):
    """Run one call; print its result, or the traceback and exit 1."""
    try:
        out = fn()
    except Exception:
        traceback.print_exc()
        print(f"FAILED: {name}")
        sys.exit(1)
    print(f"ok  {name}: {out}")


def walk(widget):
    """A widget and everything inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def gui_refresh():
    """The client's own GUI panel (ipywidgets): its refresh button, then the AOI it offers."""
    from cbm.ipycbm.ipy_get import get_panel

    panel = get_panel.get()
    found = list(walk(panel))
    refresh = next(w for w in found if type(w).__name__ == "Button" and w.icon in ("refresh", "fa-refresh"))
    aois = next(w for w in found if type(w).__name__ == "Dropdown" and w.description == "AOI:")
    refresh.click()  # get_options -> api_options.json -> the AOI list, then the selected AOI's examples
    if aois.value != AOI:
        aois.value = AOI
    values = config.read("api_options.json")
    key = next(v for v in values["aois"][AOI] if v.startswith("id_examples"))
    assert values["aois"][AOI]["years"] and values["aois"][AOI][key], values["aois"][AOI]
    assert TMS in values["aois"][AOI].get("tms", []), values["aois"][AOI]
    from ipywidgets.widgets.widget import _instances  # the panel shows its id box in an Output

    pid = next(w for w in _instances.values() if type(w).__name__ == "Textarea"
               and w.description == "Parcel(s) ID:")
    assert pid.value == str(values["aois"][AOI][key][0]), pid.value  # the first example, filled in
    return f"{key} = {values['aois'][AOI][key]}, the panel's parcel id: {pid.value}"


def by_location():
    """The parcel at the point."""
    p = parcel_info.by_location(AOI, YEAR, LON, LAT, geom=True)
    assert p["pid"] == [PID], p
    return {k: v for k, v in p.items() if k != "geom"}


def by_pid():
    """The parcel by id, in WGS84 and (last, for info.json) in its stored CRS."""
    q = parcel_info.by_pid(AOI, YEAR, PID, geom=True, wgs84=True)
    assert json.loads(q["geom"][0])["type"] in ("Polygon", "MultiPolygon"), q
    q = parcel_info.by_pid(AOI, YEAR, PID, geom=True)  # info.json in the stored CRS, for the overlays
    return {"pid": q["pid"], "area": q["area"], "srid": q["srid"]}


def by_polygon():
    """Parcel ids in a small polygon around the point (the client's lon_lat-lon_lat form)."""
    ids = json.loads(parcel_info.by_polygon(AOI, YEAR, A["polygon"]))
    assert PID in ids["pid"], ids
    return ids


def peers():
    """Same-crop neighbours."""
    got = parcels_list.peers(AOI, YEAR, PID, 2000, 5)
    assert "pids" in got and "distance" in got, got
    return got


def series(tstype, band=""):
    """A time-series call of one type (and band)."""
    def run():
        ts = time_series.by_pid(AOI, YEAR, PID, tstype, band=band)
        df = pd.DataFrame.from_dict(ts, orient="columns")
        assert len(df) > 0 and "date_part" in df, ts
        assert tstype != "s2" or "hist" in df
        dates = pd.to_datetime(df["date_part"], unit="s")
        return f"{df.shape} bands {sorted(df['band'].unique())} {dates.min().date()}..{dates.max().date()}"
    return run


def chips(where, band, chipsize):
    """Raw chips of a band by location or parcel, downloaded by the client."""
    def run():
        if where == "location":
            chip_images.by_location(LON, LAT, A["start"], A["end"], band, chipsize)
            folder = join(TEMP, f"{LON}_{LAT}".replace(".", "_"), "chip_images")
        else:
            chip_images.by_pid(AOI, str(YEAR), PID, A["start"], A["end"], band, chipsize)
            folder = join(PDIR, "chip_images")
        listed = pd.read_csv(join(folder, f"images_list.{band}.csv"), index_col=0)
        files = [join(folder, c.split("/")[-1]) for c in listed["chips"]]
        assert files and all(isfile(f) and os.path.getsize(f) > 0 for f in files), (listed, files)
        return f"{len(files)} GeoTIFFs, e.g. {os.path.basename(files[0])}"
    return run


def oversized_chip():
    """A chip over the limit: the client must survive the error answer (and find no file)."""
    chip_images.by_location(LON + 0.001, LAT, A["start"], A["end"], "B04", 10_000_000)
    answer = requests.get(f"{config.credentials('api')[0]}/query/rawChipByLocation", params={
        "lon": LON, "lat": LAT, "start_date": A["start"], "end_date": A["end"], "band": "B04",
        "chipsize": 10_000_000}, auth=config.credentials("api")[1:])
    assert answer.status_code == 422 and " m " in answer.json()["detail"], answer.text
    return f"{answer.status_code}: {answer.json()['detail']}"


def backgrounds(where):
    """The background image by location or parcel, saved as backgrounds/<tms>.tif."""
    def run():
        if where == "location":
            background.by_location(AOI, YEAR, LON, LAT, 256, 400, [TMS])
        else:
            background.by_pid(AOI, YEAR, PID, 256, 400, [TMS])
        path = join(PDIR, "backgrounds", f"{TMS.lower()}.tif")
        assert isfile(path) and os.path.getsize(path) > 1000, path
        return path
    return run


def unconfigured_background():
    """An unconfigured tms: the client must get the server's refusal, not an image."""
    try:
        background.by_location(AOI, YEAR, LON, LAT, 256, 400, ["NoSuchSource"])
    except requests.exceptions.RequestException as err:  # the body is not a URL: the client raises
        assert "is not a background source" in str(err) and TMS in str(err), err
        return f"refused: {str(err)[:160]}"
    raise AssertionError("an unconfigured tms was answered with an image")


def figure(fn, *args, **kwargs):
    """A plotting helper of the client, headless: it must return a figure (with images)."""
    def run():
        fig = fn(*args, view=False, **kwargs)
        assert isinstance(fig, Figure), fig
        keep = os.environ.get("CBM_JRC_FIGURES")
        if keep:  # keep the figures (test artefacts)
            os.makedirs(keep, exist_ok=True)
            name = f"{fn.__module__.split('.')[-1]}.{fn.__name__}.{len(os.listdir(keep))}"
            fig.savefig(join(keep, f"{name}.png"), dpi=40)
        images = sum(len(ax.images) for ax in fig.axes)
        assert images > 0 or fn in (show_ts.s2, show_ts.ndvi, show_ts.s1), "no image drawn"
        return f"{type(fig).__name__} with {len(fig.axes)} axes, {images} images"
    return run


step("get_options + GUI refresh", gui_refresh)
step("parcel_info.by_location", by_location)
step("parcel_info.by_pid", by_pid)
step("parcel_info.by_polygon", by_polygon)
step("parcels_list.peers", peers)
for ts_type in ("s2", "bs", "c6"):
    step(f"time_series.by_pid {ts_type}", series(ts_type))
step("time_series.by_pid s2 band B04", series("s2", "B04"))
step("time_series.weather", lambda: time_series.weather(AOI, YEAR, PID))
step(f"show.parcel_info.by_pid tms={TMS}", figure(show_parcel.by_pid, AOI, YEAR, PID, tms=TMS))
for b in ("B04", "B08"):
    step(f"chip_images.by_location {b}", chips("location", b, 640))
    step(f"chip_images.by_pid {b}", chips("pid", b, 640))
step("chip_images.by_location over the size limit", oversized_chip)
step("background.by_location", backgrounds("location"))
step("background.by_pid", backgrounds("pid"))
step("background.by_location unconfigured tms", unconfigured_background)
step("show.time_series.s2", figure(show_ts.s2, AOI, YEAR, PID))
step("show.time_series.ndvi", figure(show_ts.ndvi, AOI, YEAR, [PID]))
step("show.time_series.s1 bs", figure(show_ts.s1, AOI, YEAR, [PID], "bs"))
step("show.time_series.s1 c6", figure(show_ts.s1, AOI, YEAR, [PID], "c6"))
step("show.chip_images.by_pid B04", figure(show_chips.by_pid, AOI, str(YEAR), PID, A["start"], A["end"],
                                           "B04", 640))
step("show.chip_images.by_pid NDVI", figure(show_chips.by_pid, AOI, str(YEAR), PID, A["start"], A["end"],
                                            ["B04", "B08"], 640))
step("show.chip_images.by_location B04", figure(show_chips.by_location, LON, LAT, A["start"], A["end"],
                                                "B04", 640))
step("show.background.by_location", figure(show_background.by_location, AOI, YEAR, LON, LAT, 256, 400,
                                           [TMS]))
step("show.background.by_pid", figure(show_background.by_pid, AOI, YEAR, PID, 256, 400, [TMS]))
print("JRC client check: OK")
