"""The HTTP-01 responder on tls.acme_http_listen (port 80 in production).

It answers GET /.well-known/acme-challenge/<token> from the store's pending challenges
(store.certificates), so whichever worker or node the CA's connection reaches has the
answer, whoever ordered; anything else is a 404. It serves nothing else (no console,
no redirect).
"""

from __future__ import annotations

import logging

from aiohttp import web

from storage.acme_status import TOKEN_PATTERN

from ..context import GatewayContext

log = logging.getLogger("gateway.acme")
PREFIX = "/.well-known/acme-challenge/"
NOT_HERE = "This port answers ACME HTTP-01 challenges only.\n"


class AcmeResponder:
    """A `Service` (gateway/context.py): listed, stopped and checked like the others."""

    name = "acme-http"

    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx
        self.runner: web.AppRunner | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [address for _, address in self.endpoints()]

    def endpoints(self) -> list[tuple[str, tuple[str, int]]]:
        if self.runner is None:
            return []
        return [(self.name, (a[0], a[1])) for a in self.runner.addresses]

    async def answer(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if TOKEN_PATTERN.match(token):
            answer = await self.ctx.store.certificates.challenge(token)
            if answer is not None:
                log.info("ACME HTTP-01 challenge answered")
                return web.Response(body=answer.encode(), content_type="application/octet-stream")
        log.warning("ACME HTTP-01 request for a token not pending here")
        return web.Response(status=404, text="No such ACME challenge token.\n")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(PREFIX + "{token}", self.answer)
        app.router.add_route("*", "/{tail:.*}", _not_here)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        listen = self.ctx.settings.tls.acme_http_listen
        await self.ctx.listeners.web_site(self.runner, "tls.acme_http_listen", listen, None)

    async def stop(self, grace: float) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def _not_here(_request: web.Request) -> web.Response:
    return web.Response(status=404, text=NOT_HERE)


async def start_acme_responder(ctx: GatewayContext) -> AcmeResponder:
    responder = AcmeResponder(ctx)
    await responder.start()
    return responder
