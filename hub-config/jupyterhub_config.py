"""JupyterHub configuration of the CbM platform: ``jupyterhub -f hub-config/jupyterhub_config.py``.

Reads only settings: :class:`hub_settings.HubSettings` (``CBM_HUB_*``) and the backend's
``Settings`` (``CBM_*``: database, secrets). Start it with ``scripts/hub.sh`` (``make hub``).

Who gets what (roles are the user store's, see ``cbm_auth.py``):

* ``admins``    hub admin (admin panel, all users' servers) and their own JupyterLab;
* ``analysts``  JupyterLab with ``notebooks/`` copied into their home on first start, and
  Voilà inside their server (``/user/<name>/voila/render/...``);
* ``consumers`` the dashboards only: the ``dashboards`` service (standalone Voilà on ``apps/``
  behind hub OAuth, see ``dashboards_service.py``). They hold no ``servers``/``access:servers``
  scope and the spawner refuses them, so ``/user/<name>/...`` (lab, tree, terminals,
  kernels API) is 404 for them.

Production login through an agency's OAuth/OIDC provider: ``CBM_HUB_AUTHENTICATOR=oidc`` and
``pip install oauthenticator``; ``GenericOAuthenticator`` reads its own settings
(``OAUTH_CLIENT_ID``, ``OAUTH_CLIENT_SECRET``, ``OAUTH_CALLBACK_URL``, ``OAUTH2_AUTHORIZE_URL``,
``OAUTH2_TOKEN_URL``, ``OAUTH2_USERDATA_URL``, or ``c.GenericOAuthenticator.*`` in a
``jupyterhub_config.d``-style override); roles and AOI grants still come from the user store
(the IdP username must exist there, active), through ``cbm_auth.roles_from_store``.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from cbm_auth import CbmAuthenticator, oidc_authenticator, roles_from_store  # noqa: E402
from cbm_spawner import ensure_system_user, is_consumer, running_as_root, spawner_config  # noqa: E402
from hub_settings import VENV_BIN, get_backend_settings, get_hub_settings  # noqa: E402
from jupyterhub.utils import url_path_join  # noqa: E402

from apps.serve import install_template  # noqa: E402

c = get_config()  # type: ignore[name-defined]  # noqa: F821
hs = get_hub_settings()
bs = get_backend_settings()
DASHBOARDS = "dashboards"

# ------------------------------------------------------------------ network (loopback by default)
c.JupyterHub.ip = hs.ip
c.JupyterHub.port = hs.port
c.JupyterHub.base_url = hs.base_url
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hs.hub_port
c.ConfigurableHTTPProxy.command = [str(hs.proxy_cmd)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hs.proxy_api_port or hs.port + 1}"

# ------------------------------------------------------------------ state
hs.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{hs.data_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hs.data_dir / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hs.data_dir / "jupyterhub.pid")
c.JupyterHub.log_level = hs.log_level
c.CryptKeeper.keys = [bytes.fromhex(hs.auth_state_key(bs))]

# ------------------------------------------------------------------ authentication
if hs.authenticator == "oidc":
    c.JupyterHub.authenticator_class = oidc_authenticator()  # GenericOAuthenticator + scoped /user/
    c.Authenticator.post_auth_hook = roles_from_store
else:
    c.JupyterHub.authenticator_class = CbmAuthenticator
c.Authenticator.allow_all = True  # the user store is the allow list: unknown or inactive users never log in
c.Authenticator.manage_groups = True  # groups follow the store's role at every login / refresh
c.Authenticator.enable_auth_state = True  # encrypted; holds role, AOIs and the API password
c.Authenticator.auth_refresh_age = 300  # re-read role, grants and `active` from the store
c.Authenticator.refresh_pre_spawn = True

# ------------------------------------------------------------------ single-user servers
spawner_config(c)

# ------------------------------------------------------------------ roles: who may do what
c.JupyterHub.load_roles = [
    {   # every user, consumers included: who am I, which groups, the dashboards. No servers.
        "name": "user",
        "scopes": ["read:users:name!user", "read:users:groups!user", f"access:services!service={DASHBOARDS}"],
    },
    {   # analysts and admins: their own server (JupyterLab, Voilà) and every service
        "name": "cbm-analyst",
        "scopes": ["self", "access:services"],
        "groups": ["analysts", "admins"],
    },
    {   # the dashboards service reads a viewer's auth_state to call the API as that person
        "name": "cbm-dashboards",
        "scopes": ["read:users", "admin:auth_state"],
        "services": [DASHBOARDS],
    },
]

# ------------------------------------------------------------------ services
install_template(hs.share_dir)  # the dashboards' Voilà template, offline (apps/serve.py)
env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "JUPYTER_PATH": str(hs.share_dir)}
dashboards = {
    "name": DASHBOARDS,
    "display": True,
    "oauth_no_confirm": True,
    "url": f"http://127.0.0.1:{hs.dashboards_port}",
    "environment": env,
    "command": [
        str(VENV_BIN / "python"), str(HERE / "dashboards_service.py"),
        f"--port={hs.dashboards_port}", f"--prefix={url_path_join(hs.base_url, 'services', DASHBOARDS)}/",
        f"--apps-dir={hs.apps_dir}", f"--template={hs.voila_template}", f"--api-url={hs.api_url}",
        f"--kernel-idle-timeout={hs.kernel_idle_timeout_s}",
    ],
}
if running_as_root():  # kernels of the dashboards run as their own unprivileged user
    home = hs.home_root / hs.dashboards_user
    pw = ensure_system_user(hs.dashboards_user, home, "CbM dashboards service")
    home.mkdir(mode=0o700, exist_ok=True)
    import os

    os.chown(home, pw.pw_uid, pw.pw_gid)
    dashboards.update(user=hs.dashboards_user, cwd=str(home))
c.JupyterHub.services = [dashboards]

if hs.idle_timeout_s:
    c.JupyterHub.services.append({
        "name": "idle-culler",
        "command": [str(VENV_BIN / "jupyterhub-idle-culler"), f"--timeout={hs.idle_timeout_s}"],
    })
    c.JupyterHub.load_roles.append({
        "name": "cbm-idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    })


# ------------------------------------------------------------------ landing page per role
def landing(handler):
    """Consumers land on the dashboards, everybody else on their own server."""
    user = handler.current_user
    if user is not None and is_consumer(user):
        return url_path_join(hs.base_url, "services", DASHBOARDS) + "/"
    return url_path_join(hs.base_url, "hub", "spawn")


c.JupyterHub.default_url = landing
