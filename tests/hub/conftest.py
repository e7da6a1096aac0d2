"""Fixtures of the hub tests (defined in hubtools.py): ``hub``, one real JupyterHub per module."""

from hubtools import hub  # noqa: F401
