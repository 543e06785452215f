"""Certificates (storage/contract/certificates.py), awaited."""

from __future__ import annotations

from ..acme_status import AcmeStatus
from ..contract import Certificates, LiveCertificate
from .areas import _Area


class AsyncCertificates(_Area[Certificates]):
    async def account_key(self) -> str | None:
        return await self._run(self._area.account_key)

    async def keep_account_key(self, jwk_json: str) -> str:
        return await self._run(self._area.keep_account_key, jwk_json)

    async def live(self, *, with_key: bool = True) -> LiveCertificate | None:
        return await self._run(self._area.live, with_key=with_key)

    async def live_sha256(self) -> str | None:
        return await self._run(self._area.live_sha256)

    async def put_live(self, chain_pem: str, key_pem: str, directory: str) -> LiveCertificate:
        return await self._run(self._area.put_live, chain_pem, key_pem, directory)

    async def status(self) -> AcmeStatus | None:
        return await self._run(self._area.status)

    async def put_status(self, status: AcmeStatus) -> None:
        return await self._run(self._area.put_status, status)

    async def add_challenge(self, token: str, key_authorization: str, ttl: float) -> None:
        return await self._run(self._area.add_challenge, token, key_authorization, ttl)

    async def challenge(self, token: str) -> str | None:
        return await self._run(self._area.challenge, token)

    async def remove_challenge(self, token: str) -> None:
        return await self._run(self._area.remove_challenge, token)
