"""The gateway's bind stanza: ties an age file to one mailbox, message and epoch.

`-> jgw-bind <mailbox-id> <message-id> <epoch> <encoding>` with an empty body. age
implementations ignore unknown stanzas; the header MAC authenticates it, so a file
moved to another mailbox or swapped with another message is detected before any of
its payload is decrypted.
"""

from __future__ import annotations

from dataclasses import dataclass

from .age import Header, Stanza

BIND_TYPE = "jgw-bind"
ENCODINGS = ("raw", "zstd")


@dataclass(frozen=True)
class Binding:
    mailbox_id: str
    message_id: str
    epoch: int
    encoding: str

    def stanza(self) -> Stanza:
        return Stanza(
            (BIND_TYPE, self.mailbox_id, self.message_id, str(self.epoch), self.encoding), b""
        )


class BindError(ValueError):
    pass


def read_binding(header: Header) -> Binding:
    """The single bind stanza of a header (MAC not checked here)."""
    found = [s for s in header.stanzas if s.args[0] == BIND_TYPE]
    if len(found) != 1:
        raise BindError("file has no (or more than one) bind stanza")
    stanza = found[0]
    if len(stanza.args) != 5 or stanza.body or not stanza.args[3].isdigit():
        raise BindError("malformed bind stanza")
    if stanza.args[4] not in ENCODINGS:
        raise BindError("unknown payload encoding")
    return Binding(stanza.args[1], stanza.args[2], int(stanza.args[3]), stanza.args[4])
