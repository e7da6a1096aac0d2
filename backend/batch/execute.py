"""One papermill execution of a chunk: the function the Dask workers run.

It is self-contained (notebook text in, executed notebook text out) so it runs on a worker of
any cluster, as long as that worker's Python has the project installed. Secrets travel in the
kernel's environment (``CBM_*``), never as notebook parameters, so the executed notebook kept
as the audit record holds no password.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a worker needs to execute one chunk."""

    run_id: str
    chunk: int
    attempt: int
    notebook: str  # the notebook's JSON text
    parameters: dict[str, Any]
    kernel_name: str = "python3"
    env: dict[str, str] = field(default_factory=dict, repr=False)
    delay_s: float = 0.0


@dataclass(frozen=True)
class ChunkOutcome:
    """What came back from a worker: the executed notebook (if any) and the error (if any)."""

    chunk: int
    attempt: int
    notebook: str | None
    error: str | None
    seconds: float
    host: str


def ensure_kernel(name: str) -> None:
    """Make sure the kernelspec ``name`` exists; create ``python3`` in this Python's prefix if not.

    The created spec runs ``python -m ipykernel_launcher``, which jupyter_client resolves to this
    interpreter, so the kernel sees the project installed in the same virtualenv (this is what
    ``python -m ipykernel install --sys-prefix`` does).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    if name in KernelSpecManager().find_kernel_specs():
        return
    if name != "python3":
        raise LookupError(f"no Jupyter kernel {name!r} on {socket.gethostname()}: install it, e.g. "
                          f"`python -m ipykernel install --sys-prefix --name {name}`")
    from ipykernel.kernelspec import install

    path = install(prefix=sys.prefix, kernel_name=name)
    log.info("installed kernelspec %s in %s", name, path)


def _kernel_manager(kernel_name: str, env: dict[str, str]) -> Any:
    """An async kernel manager that starts its kernel with ``env`` added to the environment."""
    from jupyter_client.manager import AsyncKernelManager

    class _EnvKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = {**os.environ, **kw.get("env", {}), **env}
            await super().start_kernel(**kw)

    return _EnvKernelManager(kernel_name=kernel_name)


def execute_chunk(spec: ChunkSpec) -> ChunkOutcome:
    """Execute the chunk's notebook with papermill; never raises for a notebook error."""
    import papermill as pm

    if spec.delay_s > 0:
        time.sleep(spec.delay_s)
    t0, error = time.perf_counter(), None
    ensure_kernel(spec.kernel_name)
    with tempfile.TemporaryDirectory(prefix=f"cbm-{spec.run_id}-{spec.chunk}-") as tmp:
        src, out = Path(tmp) / "input.ipynb", Path(tmp) / "output.ipynb"
        src.write_text(spec.notebook, encoding="utf-8")
        try:
            pm.execute_notebook(src, out, parameters=spec.parameters, kernel_name=spec.kernel_name,
                                progress_bar=False, km=_kernel_manager(spec.kernel_name, spec.env))
        except pm.PapermillExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue}"
        except Exception as exc:  # a dead kernel, a timeout: reported, retried upstream
            error = f"{type(exc).__name__}: {exc}"
        text = out.read_text(encoding="utf-8") if out.exists() else None
    return ChunkOutcome(spec.chunk, spec.attempt, text, error, time.perf_counter() - t0,
                        f"{socket.gethostname()}:{os.getpid()}")
