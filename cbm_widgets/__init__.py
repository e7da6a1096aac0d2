"""CbM widgets: ipywidgets for dashboards and notebooks, talking only to the CbM REST API.

No SQL and no GDAL here: :class:`CbmClient` is the one way to data. Configure it with
``CBM_API_URL``, ``CBM_API_USER`` and ``CBM_API_PASSWORD`` (see :mod:`cbm_widgets.settings`).
"""

from cbm_widgets.app import dashboard, deep_link, link, query_params, start
from cbm_widgets.card import ParcelCard
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import (
    AccessDenied,
    ApiUnavailable,
    AuthenticationFailed,
    CbmApiError,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    RateLimited,
)
from cbm_widgets.explorer import MarkerExplorer
from cbm_widgets.gallery import ChipGallery
from cbm_widgets.parcel_map import ParcelMap
from cbm_widgets.peers import PeersPanel
from cbm_widgets.queue import ReviewQueue
from cbm_widgets.review import ReviewPanel
from cbm_widgets.timeseries import TimeSeriesChart

__all__ = [
    "AccessDenied", "ApiUnavailable", "AuthenticationFailed", "CbmApiError", "CbmClient", "ChipGallery",
    "ConfigurationError", "InvalidRequest", "MarkerExplorer", "NotFound", "ParcelCard", "ParcelMap",
    "PeersPanel", "RateLimited", "ReviewPanel", "ReviewQueue", "TimeSeriesChart", "dashboard", "deep_link",
    "link", "query_params", "start",
]
