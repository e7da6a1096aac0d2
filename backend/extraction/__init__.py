"""Zonal statistics of images over parcel sets, driven by a job queue (one job = image x set).

Entry points, as the CLI (``cbm extract``, ``cbm db cluster``) and the batch notebook use them:

* :func:`extract` claims the pending jobs of a parcel set and runs them until none is left
  (any number of processes at once; a crash loses and duplicates nothing) and returns an
  :class:`ExtractReport`; :class:`LeaseLost` is a job another worker took over.
* :func:`job_counts` (jobs per status), :func:`reset_jobs` (``--force``), :func:`worker_id`.
* :func:`cluster_signatures` rewrites a set's signatures in (parcel, image) order.

The engine itself (:mod:`~backend.extraction.engine`, :mod:`~backend.extraction.compute`) is
a pure function of arrays and labels; :mod:`~backend.extraction.timeseries` reads the stored
signatures back as JRC time series.
"""

from backend.extraction.jobs import counts as job_counts
from backend.extraction.jobs import reset_for_force as reset_jobs
from backend.extraction.jobs import worker_id
from backend.extraction.maintenance import cluster_signatures
from backend.extraction.service import ExtractReport, LeaseLost, extract

__all__ = ["ExtractReport", "LeaseLost", "cluster_signatures", "extract", "job_counts", "reset_jobs",
           "worker_id"]
