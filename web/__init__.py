"""The admin console and JSON admin API (aiohttp + aiohttp-jinja2, server-rendered).

`create_app(store, options)` builds the application; the caller runs it. This package
never imports `gateway` (DESIGN §1).
"""

from .app import create_app
from .options import ConnectInfo, WebOptions

__all__ = ["ConnectInfo", "WebOptions", "create_app"]
