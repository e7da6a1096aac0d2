r"""Serve the CbM dashboards with Voilà, offline (no CDN, no external tiles).

Usage::

    CBM_API_URL=http://127.0.0.1:8000 CBM_API_USER=... CBM_API_PASSWORD=... \\
        .venv/bin/python apps/serve.py --port 8866

then open ``http://127.0.0.1:8866/voila/render/parcel_lookup.ipynb?aoi=demo&year=2025&parcel_id=P000001``.

It installs the ``cbm-offline`` Voilà template (Voilà's ``lab`` template without CDN links, see
``apps/share/jupyter/voila/templates/cbm-offline/README.md``) with Font Awesome from the
``fontawesomefree`` package into ``var/voila`` (:func:`install_template`, which the hub uses
too), then runs ``voila`` with the template, loopback-only, tracebacks hidden, and one
preheated kernel per app (``--preheat_kernel``): each app's first cell (imports, widgets,
layout) has already run when a page is requested, and its second cell reads the request's query
string with ``voila.utils.get_query_string()`` (see :func:`cbm_widgets.app.request_query_string`).
A page with ``?theme=dark`` gets a fresh kernel (the preheated ones render the light theme).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

APPS = Path(__file__).resolve().parent
ROOT = APPS.parent
TEMPLATE = "cbm-offline"
TEMPLATE_DIR = APPS / "share" / "jupyter" / "voila" / "templates" / TEMPLATE
XSRF_COOKIE = "cbm_widgets.voila_xsrf.PasswordIdentityProviderWithXsrfCookie"  # page close shuts its kernel
# @jupyter-notebook/lab-extension: silences a harmless RUNTIME-012 console error; jupyterlab_pygments:
# code highlighting, and the dashboards show no code (3 requests fewer per page)
DENYLIST = '["@jupyter-notebook/lab-extension", "jupyterlab_pygments"]'
# A preheated kernel taken by a page is replaced this long after the request (Voilà's default: 1 s),
# so that the new kernel's start (imports, first cell: ~1 s of CPU) does not compete with the
# page's first paint (bench/ui.py --voila-defaults: Voilà's CPU per deep link 1.2 -> 0.2 s). The
# cost: the refill's CPU lands on what the user does a few seconds later (a click, another page),
# and a second page of the same app within the delay waits for that kernel up to 4 s longer.
FILL_DELAY_S = 5.0


def install_template(root: Path) -> Path:
    """Copy the template and Font Awesome (once) into the Jupyter data dir ``root``; returns ``root``.

    Copied, not linked: Tornado does not serve static files through symlinks that leave the
    template directory. Everything is made world-readable (the hub's single-user servers run as
    other users).
    """
    dest = root / "voila" / "templates" / TEMPLATE
    shutil.copytree(TEMPLATE_DIR, dest, dirs_exist_ok=True)
    fonts = dest / "static" / "fontawesome"
    if not (fonts / "css" / "all.min.css").exists():
        source = resources.files("fontawesomefree") / "static" / "fontawesomefree"
        with resources.as_file(source) as src:
            for part in ("css", "webfonts"):
                shutil.copytree(src / part, fonts / part, dirs_exist_ok=True)
            shutil.copy2(src / "LICENSE.txt", fonts / "LICENSE.txt")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def environment(var_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the Voilà process: ``JUPYTER_PATH`` with our template and its static files."""
    env = dict(os.environ if base is None else base)
    paths = [str(install_template(var_dir / "voila" / "share" / "jupyter"))]
    if env.get("JUPYTER_PATH"):
        paths.append(env["JUPYTER_PATH"])
    env["JUPYTER_PATH"] = os.pathsep.join(paths)
    return env


def command(port: int, *, ip: str = "127.0.0.1", notebooks: Path = APPS, preheat: bool = True,
            fill_delay_s: float = FILL_DELAY_S, denylist: str = DENYLIST) -> list[str]:
    """The ``voila`` command line serving every app of ``notebooks`` (``preheat``: one warm kernel each).

    ``fill_delay_s`` and ``denylist`` are for benchmarks that compare them with Voilà's defaults.
    """
    voila = Path(sys.executable).with_name("voila")
    warm = ["--preheat_kernel=True", "--pool_size=1",
            f"--VoilaKernelManager.fill_delay={fill_delay_s}"] if preheat else []
    return [str(voila), "--no-browser", f"--port={port}", f"--Voila.ip={ip}", f"--template={TEMPLATE}",
            f"--VoilaConfiguration.extension_denylist={denylist}",
            "--VoilaConfiguration.show_tracebacks=False", "--VoilaConfiguration.allow_template_override=NO",
            "--VoilaConfiguration.file_allowlist=[]", f"--Voila.identity_provider_class={XSRF_COOKIE}",
            *warm, str(notebooks)]


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and replace this process with Voilà."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var")
    parser.add_argument("--no-preheat", action="store_true", help="start a kernel per page request")
    args = parser.parse_args(argv)
    argv_ = command(args.port, ip=args.ip, preheat=not args.no_preheat)
    os.execve(argv_[0], argv_, environment(args.var_dir))


if __name__ == "__main__":
    main()
