"""IMAP FETCH of several sections per message: time and decryptions, two source trees.

    .venv/bin/python -m bench.imap_fetch [--before /work/main] [--messages 200]

Runs the same measurement in a child process per source tree (this one, and the
`--before` tree when given), in one run: a fresh store with N multipart messages of
about 40 KiB, a real ImapService on 127.0.0.1, imaplib over plaintext loopback, and
`FETCH 1:N (BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1])`, three rounds. It prints
seconds per round, decryptions (calls of the store's read_message) and the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SPEC = "(BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1])"


def message(number: int) -> bytes:
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-=+/01234\r\n"
    return (
        b"From: bench@example.org\r\nTo: journal@example.test\r\n"
        b"Subject: bench %d\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\n"
        % number
        + line * 280
        + b"--b\r\nContent-Type: application/octet-stream\r\n\r\n"
        + line * 280
        + b"--b--\r\n"
    )


def use_tree(tree: Path) -> None:
    """Import `gateway`, `storage` and `web` from `tree`, not from the editable install."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, str(tree))


def child(messages: int, rounds: int) -> dict:
    """Measure in this process (see use_tree for which source it runs)."""
    import asyncio
    import imaplib
    import tempfile
    import time

    import gateway
    from gateway.config import load_settings
    from gateway.context import GatewayContext
    from gateway.imap import start_imap
    from gateway.login import Authenticator, LoginPolicy
    from gateway.tls import TlsManager
    from storage import open_store
    from storage.async_store import AsyncStore

    async def main(tmp: Path) -> dict:
        store = open_store(tmp / "data")
        store.domains.add("example.test")
        mailbox, passphrase = store.mailboxes.create(
            "example.test", aliases=["journal@example.test"], actor=None
        )
        for n in range(messages):
            delivery = store.messages.begin_delivery(mailbox.id)
            delivery.write(message(n))
            store.messages.commit_deliveries([delivery])
        real_read = store.messages.read
        calls = [0]

        def counted(key, info):
            calls[0] += 1
            return real_read(key, info)

        store.messages.read = counted
        settings = load_settings(
            environ={},
            overrides={"imap.listen": "127.0.0.1:0", "imap.allow_plaintext_login": True},
        )
        astore = AsyncStore(store)
        ctx = GatewayContext(
            settings=settings,
            store=astore,
            tls=TlsManager("", "", tmp / "data", "localhost"),
            authenticator=Authenticator(astore, LoginPolicy()),
            data_dir=tmp / "data",
            hostname="localhost",
        )
        service = await start_imap(ctx)
        port = service.address("imap")[1]

        def client() -> list[float]:
            c = imaplib.IMAP4("127.0.0.1", port, timeout=120)
            c.login("journal@example.test", passphrase)
            c.select("INBOX", readonly=True)
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                typ, data = c.fetch(f"1:{messages}", SPEC)
                times.append(time.perf_counter() - started)
                assert typ == "OK" and len(data) >= messages
            c.logout()
            return times

        await asyncio.to_thread(client)  # warm-up (each client is a new session, no cache)
        calls[0] = 0
        times = await asyncio.to_thread(client)
        await service.stop(0)
        astore.close()
        return {
            "tree": str(Path(gateway.__file__).parent.parent),
            "seconds": times,
            "decryptions_per_round": calls[0] / rounds,
        }

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(main(Path(tmp)))


def run_tree(tree: Path, messages: int, rounds: int) -> dict:
    command = [sys.executable, "-m", "bench.imap_fetch", "--child", str(tree),
               "--messages", str(messages), "--rounds", str(rounds)]  # fmt: skip
    done = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another source tree to compare with")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        use_tree(args.child)
        print(json.dumps(child(args.messages, args.rounds)))
        return
    results = {"after": run_tree(HERE, args.messages, args.rounds)}
    if args.before:
        results["before"] = run_tree(args.before.resolve(), args.messages, args.rounds)
    for name, r in results.items():
        best = min(r["seconds"])
        print(f"{name:6} {r['tree']}: best {best:.3f} s for {args.messages} messages, "
              f"{r['decryptions_per_round']:.0f} decryptions per FETCH")  # fmt: skip
    if "before" in results:
        before, after = results["before"], results["after"]
        print(f"time ratio after/before: {min(after['seconds']) / min(before['seconds']):.2f}")
        ratio = after["decryptions_per_round"] / before["decryptions_per_round"]
        print(f"decryption ratio after/before: {ratio:.2f}")


if __name__ == "__main__":
    main()
