"""Assemble the offline Voilà template ``cbm-offline`` in a world-readable Jupyter data dir.

The template's pages live in ``hub-config/share/voila/templates/cbm-offline`` (see the README
there); Font Awesome comes from the copy JupyterHub installs in the virtualenv. Tornado does
not serve static files through symlinks that leave the template directory, so both are copied
into ``<share_dir>/voila/templates/cbm-offline`` (cheap, ~1 MB, idempotent) when the hub starts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hub_settings import HUB_CONFIG_DIR, VENV_BIN

TEMPLATE = "cbm-offline"
FONT_AWESOME = VENV_BIN.parent / "share/jupyterhub/static/components/@fortawesome/fontawesome-free"


def build(share_dir: Path) -> Path:
    """Write the template under ``share_dir`` (a Jupyter data dir); returns the template dir."""
    src = HUB_CONFIG_DIR / "share" / "voila" / "templates" / TEMPLATE
    dest = share_dir / "voila" / "templates" / TEMPLATE
    shutil.copytree(src, dest, dirs_exist_ok=True)
    for part in ("css", "webfonts", "LICENSE.txt"):
        target = dest / "static" / "fontawesome" / part
        if (FONT_AWESOME / part).is_dir():
            shutil.copytree(FONT_AWESOME / part, target, dirs_exist_ok=True)
        elif (FONT_AWESOME / part).exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(FONT_AWESOME / part, target)
    for path in [share_dir, *share_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest
