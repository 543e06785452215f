"""Template rendering with the context every page needs, and small form helpers."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup

from . import i18n, labels, session
from .state import ADMIN, PRE_SESSION, SESSION_RAW, state


def setup_templates(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("web", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        default_helpers=False,
    )
    # The i18n extension adds install_gettext_callables to the Environment at run time.
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = i18n.format_time
    env.filters["size"] = i18n.format_bytes
    env.filters["num"] = i18n.format_number
    env.filters["grouped"] = _grouped
    env.globals["languages"] = i18n.LANGUAGES
    return env


def _grouped(passphrase: str) -> Markup:
    """Each group of a passphrase in its own span, for large grouped display."""
    parts = [Markup('<span class="group">{}</span>').format(p) for p in passphrase.split("-")]
    return Markup('<span class="sep" aria-hidden="true">-</span>').join(parts)


async def render(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    ctx: dict[str, Any] = {
        "request": request,
        "admin": request.get(ADMIN),
        "lang": i18n.current_language(),
        "version": state(request).options.version,
        "flashes": await session.pop_flashes(request),
        "errors": {},
        "values": {},
        "nav": "",
        **labels.common(),
    }
    ctx["csrf"] = session.token_for(request)
    ctx.update(context or {})
    response = aiohttp_jinja2.render_template(template, request, ctx, status=status)
    if request.get(PRE_SESSION) and not request.get(SESSION_RAW):
        session.pre_session(request, response)
    return response


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def form_text(form: Any, name: str, limit: int = 1000) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def form_lines(form: Any, name: str) -> list[str]:
    """Values from a textarea (one per line, commas also split) or repeated fields."""
    out: list[str] = []
    for value in form.getall(name, []):
        if isinstance(value, str):
            for line in value.replace(",", "\n").splitlines():
                if line.strip():
                    out.append(line.strip())
    return out
