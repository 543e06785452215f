"""Baseline: bare aiosmtpd with STARTTLS writing each message as a plaintext file + fsync.

What an unencrypted, line-buffered SMTP sink costs on this machine; the gateway's
ingest is measured against it in the same run.
Usage: python -m bench.baseline_smtpd HOST PORT OUTDIR CERT KEY
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import sys
import uuid

from aiosmtpd.smtp import SMTP


class FsyncHandler:
    def __init__(self, outdir: str) -> None:
        self.outdir = outdir

    async def handle_DATA(self, server, session, envelope) -> str:
        path = os.path.join(self.outdir, uuid.uuid4().hex + ".eml")
        await asyncio.get_running_loop().run_in_executor(None, _write, path, envelope.content)
        return "250 OK"


def _write(path: str, content: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())


async def main(host: str, port: int, outdir: str, cert: str, key: str) -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    handler = FsyncHandler(outdir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler, tls_context=ctx, data_size_limit=300 * 1024 * 1024, enable_SMTPUTF8=True
        ),
        host,
        port,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]))
