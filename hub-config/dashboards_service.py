"""The consumers' dashboards: a standalone Voilà run by the hub as the managed service ``dashboards``.

Why standalone Voilà and not Voilà inside a single-user server: a Jupyter server has
JupyterLab, terminals and the kernels REST API, and a landing page is not access control.
Standalone Voilà has none of these (``/lab``, ``/tree``, ``/terminals``, ``POST /api/kernels``
do not exist), and its kernels accept only widget messages from the browser
(``allowed_message_types``: comm_*, kernel_info, shutdown; an ``execute_request`` is dropped),
so a consumer can render the dashboards in ``apps/`` and interact with their widgets, nothing else.

Authentication is the hub's OAuth (JupyterHub's ``JupyterHubIdentityProvider``): only users
holding ``access:services!service=dashboards`` get in. Before a dashboard's kernel starts,
:func:`inject_api_credentials` adds a hidden first cell that sets ``CBM_API_URL``,
``CBM_API_USER`` and ``CBM_API_PASSWORD`` for that user (from the encrypted auth_state the hub
keeps since login), so the widgets call the REST API as that person with their AOI grants.
The service's own hub token is removed from the environment so kernels never see it.

Started by the hub (see ``jupyterhub_config.py``); all options come on the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from typing import Any

import nbformat
from jupyterhub.singleuser.extension import JupyterHubAuthorizer, JupyterHubIdentityProvider
from jupyterhub.utils import url_path_join
from traitlets.config import Config
from voila.app import Voila

from cbm_widgets.voila_xsrf import with_xsrf_cookie


class ServiceIdentityProvider(JupyterHubIdentityProvider):
    """Hub OAuth for a service: the callback and logout routes live under the service prefix."""

    def get_handlers(self) -> list[tuple[Any, ...]]:
        """Prefix the OAuth callback (and logout) with the service's base URL."""
        prefix = self.hub_auth.base_url
        return [(url_path_join(prefix, path), *rest) for path, *rest in super().get_handlers()]


def _auth_state(handler: Any, username: str) -> dict[str, Any]:
    """The user's auth_state from the hub API (the service holds ``admin:auth_state``)."""
    hub_auth = handler.settings["identity_provider"].hub_auth
    url = url_path_join(hub_auth.api_url, "users", username)
    req = urllib.request.Request(url, headers={"Authorization": f"token {hub_auth.api_token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # loopback hub API
        return json.load(resp).get("auth_state") or {}


def inject_api_credentials(api_url: str) -> Any:
    """A Voilà ``prelaunch_hook`` adding a hidden cell with the viewer's API credentials."""

    def hook(req: Any, notebook: nbformat.NotebookNode, cwd: str) -> None:
        user = req.current_user
        name = user.username if user is not None else ""
        env = {"CBM_API_URL": api_url, "CBM_API_USER": name}
        try:
            password = _auth_state(req, name).get("api_password") if name else None
        except OSError as exc:
            req.log.warning("no API credentials for %s: %s", name, exc)
            password = None
        if password:
            env["CBM_API_PASSWORD"] = password
        source = f"import os as _o\n_o.environ.update({json.dumps(env)})\ndel _o"
        notebook.cells.insert(0, nbformat.v4.new_code_cell(source, metadata={"tags": ["cbm-hub"]}))

    return hook


def build_config(args: argparse.Namespace, api_token: str) -> Config:
    """Voilà configuration: hub OAuth, offline template, no MathJax, culled kernels."""
    c = Config()
    c.Voila.ip = "127.0.0.1"
    c.Voila.port = args.port
    c.Voila.open_browser = False
    c.Voila.base_url = args.prefix
    c.Voila.root_dir = args.apps_dir
    c.Voila.identity_provider_class = with_xsrf_cookie(ServiceIdentityProvider)  # page close shuts its kernel
    c.Voila.authorizer_class = JupyterHubAuthorizer
    c.Voila.tornado_settings = {"mathjax_url": None, "mathjax_config": None}
    c.HubOAuth.api_token = api_token
    c.VoilaConfiguration.template = args.template
    c.VoilaConfiguration.strip_sources = True
    c.VoilaConfiguration.file_allowlist = []  # /voila/files/ serves nothing of apps/
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.extension_denylist = ["@jupyter-notebook/lab-extension"]
    c.VoilaConfiguration.prelaunch_hook = inject_api_credentials(args.api_url)
    c.MappingKernelManager.cull_idle_timeout = args.kernel_idle_timeout
    c.MappingKernelManager.cull_interval = 60
    return c


def main(argv: list[str] | None = None) -> None:
    """Start Voilà on the apps directory behind hub OAuth."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", required=True, help="service URL prefix, e.g. /services/dashboards/")
    p.add_argument("--apps-dir", required=True)
    p.add_argument("--template", default="lab")
    p.add_argument("--api-url", required=True)
    p.add_argument("--kernel-idle-timeout", type=int, default=1800)
    args = p.parse_args(argv)
    # The hub hands the service its token in the environment; kernels inherit the
    # environment, so take it out before any kernel can start.
    api_token = os.environ.pop("JUPYTERHUB_API_TOKEN", "")
    os.environ.pop("JPY_API_TOKEN", None)
    Voila.launch_instance(argv=[], config=build_config(args, api_token))


if __name__ == "__main__":
    sys.exit(main())
