"""Helpers of the notebook tests: the test area, a uvicorn server thread, papermill execution."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm

from backend.settings import PROJECT_ROOT, Settings

NOTEBOOKS = PROJECT_ROOT / "notebooks"
AOI, YEAR = "nbdemo", 2025
ANALYST, PASSWORD = "nb.analyst", "nb-analyst-pass-1"


@dataclass(frozen=True)
class Area:
    """The test area: settings, database URL, work folder, ground truth and the stored marker run."""

    settings: Settings
    database_url: str
    root: Path
    ground_truth: Path
    run_id: int


def execute(name: str, out_dir: Path, **parameters: Any) -> tuple[dict[str, Any], nbformat.NotebookNode]:
    """Execute ``notebooks/<name>.ipynb`` with papermill in ``out_dir``; returns its result JSON and
    the executed notebook (kept next to the result for inspection)."""
    result = out_dir / f"{name}.json"
    out = out_dir / f"{name}.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters={
        **parameters, "result_path": str(result)}, cwd=str(out_dir), kernel_name="python3",
        progress_bar=False)
    return json.loads(result.read_text()), nbformat.read(out, as_version=4)


def outputs_text(nb: nbformat.NotebookNode) -> str:
    """Every text output of an executed notebook (streams and text/plain results), joined."""
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            parts.append(o.get("text") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)
