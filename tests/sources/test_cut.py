"""The source server's connection cut in the middle of a message (POP3 RETR, an IMAP
literal): the run fails, nothing partial is stored, nothing is deleted at the source,
and the next run stores the message once."""

from __future__ import annotations

import socket
import threading

import pytest

from .conftest import add_source
from .test_fetch import crlf, message, split_trace, stored

BIG = b"0123456789abcdef" * 4096 + b"\n"  # 64 KiB of body: many TLS records


class CuttingProxy:
    """Forwards 127.0.0.1:port to the target; after `cut_after` bytes from the server
    (counted from the first byte of the cut-armed connection) it closes both sides."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.cut_after: int | None = None
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            limit = self.cut_after
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, limit), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(16384)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    sink.sendall(data[: max(0, limit - sent)])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(("protocol", "port_name"), [("pop3", "pop3s"), ("imap", "imaps")])
def test_a_cut_mid_message_stores_nothing_partial_and_the_next_run_recovers(
    store, mailbox, account, fetcher, ca_pem, protocol, port_name
):
    account.put(message(1, BIG))
    proxy = CuttingProxy(account.server.ports[port_name])
    try:
        source = add_source(
            store, mailbox, account, protocol, port_name, ca_file=str(ca_pem), port=proxy.port
        )
        proxy.cut_after = 30_000  # past the greeting, TLS and login; inside the message
        outcome = fetcher.run(source)
        assert outcome.failed and outcome.fetched == 0, outcome
        assert outcome.cause in ("protocol", "connect", "tls"), outcome
        assert "RETR" in outcome.error or "inside a message literal" in outcome.error, outcome
        assert stored(store, mailbox) == []
        assert len(account.remaining()) == 1
        assert list((store.data_dir / "tmp").glob("*")) == []  # the partial file is gone
        proxy.cut_after = None
        again = fetcher.run(source)
        assert (again.fetched, again.deleted, again.cause) == (1, 1, "")
    finally:
        proxy.close()
    assert [split_trace(g)[1] for g in stored(store, mailbox)] == [crlf(message(1, BIG))]
    assert account.remaining() == []
