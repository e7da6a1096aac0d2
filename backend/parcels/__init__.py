"""Import and validation of parcel sets (see :func:`import_parcels`)."""

from backend.parcels.mapping import ColumnMapping, load_mapping
from backend.parcels.report import ReportRow
from backend.parcels.service import ImportResult, delete_parcel_set, import_parcels

__all__ = [
    "ColumnMapping",
    "ImportResult",
    "ReportRow",
    "delete_parcel_set",
    "import_parcels",
    "load_mapping",
]
