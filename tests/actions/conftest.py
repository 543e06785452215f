"""The action tests use the console's fixtures (a real store and app on disk) and the
CLI's runner, against the same data directory."""

from __future__ import annotations

from tests.web.conftest import (  # noqa: F401 (fixtures, registered by being imported)
    app,
    domains,
    env,
    make_console,
    superadmin,
    web_store,
)
