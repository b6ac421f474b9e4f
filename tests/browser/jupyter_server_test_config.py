"""JupyterLab server for the browser suite (used by run.sh; never for real work).

Galata's own test configuration (no token, no XSRF check, the galata helper extension,
a temporary workspace), pinned to loopback on the port and root directory that run.sh
chooses: ``BROWSER_TESTS_PORT`` and ``JUPYTERLAB_GALATA_ROOT_DIR``.
"""

import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821 (c is the config object Jupyter passes in)

c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("BROWSER_TESTS_PORT", "8899"))  # noqa: F821
c.ServerApp.port_retries = 0  # noqa: F821
c.ServerApp.open_browser = False  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821 (CI and these machines run as root)
# No news, no update checks, no announcements: the machine has no internet.
c.LabApp.news_url = None  # noqa: F821
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"  # noqa: F821
