"""Jupyter Server config of the analysts' single-user servers (found through JUPYTER_CONFIG_PATH).

Offline: no MathJax from a CDN in Voilà's server-extension pages (JupyterLab bundles its own).
Kernel culling and the Voilà template come as command-line options from the spawner.
"""

c = get_config()  # type: ignore[name-defined]  # noqa: F821
c.ServerApp.tornado_settings = {"mathjax_url": None, "mathjax_config": None}
c.VoilaConfiguration.extension_denylist = ["@jupyter-notebook/lab-extension"]
c.VoilaConfiguration.show_tracebacks = False
