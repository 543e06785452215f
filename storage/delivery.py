"""One message copy being stored for one mailbox: sealed and written as it arrives.

Nothing is visible until the store commits it (see SqliteStore.commit_deliveries),
which happens only after the blob is durable (storage/contract/blobs.py): on disk
fsynced, renamed and its directory fsynced; on S3 acknowledged by the object store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from .bind import Binding
from .contract.blobs import Blobs, TempBlob, relative_path
from .faults import fault_point
from .ids import new_message_id
from .message_file import MessageSealer


@dataclass(frozen=True)
class PublishedFile:
    message_id: str
    mailbox_id: str
    epoch: int
    size: int
    stored_size: int
    received: float
    encoding: str
    path: str
    sha256: str
    directory: str


class Reserver(Protocol):
    """Claims a message id in the index before its blob is written (reservations.py)."""

    def reserve(self, message_id: str, mailbox_id: str) -> None: ...

    def release(self, message_id: str) -> bool: ...


class Delivery:
    """Feed plaintext with write(); the store's commit makes it durable and visible.

    With `reserver` (blobs shared by several nodes), the message id is reserved in the
    index before the blob is begun, and released on abort.
    """

    def __init__(
        self,
        blobs: Blobs,
        mailbox_id: str,
        epoch: int,
        recipient: str,
        compress: bool,
        reserver: Reserver | None = None,
    ) -> None:
        self.message_id = new_message_id()
        self._reserver: Reserver | None = None
        self.mailbox_id = mailbox_id
        self.epoch = epoch
        self.received = time.time()
        self.encoding = "zstd" if compress else "raw"
        self._blobs = blobs
        self._binding = Binding(mailbox_id, self.message_id, epoch, self.encoding)
        self._sealer = MessageSealer(recipient, self._binding)
        self.path = relative_path(mailbox_id, self.received, self.message_id)
        self._temp: TempBlob | None = None
        self.published: PublishedFile | None = None
        try:
            if reserver is not None:
                reserver.reserve(self.message_id, mailbox_id)  # before any byte is written
                self._reserver = reserver
            self._temp = blobs.new_temp(self.message_id, self.path)
            self._temp.write(self._sealer.header())
        except BaseException:  # e.g. ENOSPC: nobody else holds this file to remove it
            self.abort()
            raise
        self.size = 0

    def write(self, data: bytes) -> None:
        assert self._temp is not None, "delivery already finished"
        self.size += len(data)
        self._temp.write(self._sealer.update(data))

    @property
    def stored_size(self) -> int:
        return self._temp.size if self._temp is not None else 0

    def publish(self) -> PublishedFile:
        """Finish the blob and publish it (files: fsynced and renamed, the directory not
        yet fsynced; S3: the object completed, so it is already durable)."""
        temp = self._temp
        assert temp is not None
        temp.write(self._sealer.finish())
        temp.close_durably()
        fault_point("delivery.fsynced")
        path = self.path
        directory = self._blobs.publish(temp, path)  # on error abort() discards temp
        self._temp = None
        fault_point("delivery.renamed")
        self.published = PublishedFile(
            self.message_id,
            self.mailbox_id,
            self.epoch,
            self.size,
            temp.size,
            self.received,
            self.encoding,
            path,
            temp.sha256(),
            str(directory),
        )
        return self.published

    def abort(self) -> None:
        """Throw away an unfinished or uncommitted copy; safe to call more than once.

        A published blob whose reservation reconciliation claimed (it expired) is left
        to reconciliation: it may have adopted it already."""
        ours = self._release()
        if self._temp is not None:
            self._temp.discard()
            self._temp = None
        elif self.published is not None:
            if ours:
                self._blobs.remove(self.published.path)
            self.published = None

    def _release(self) -> bool:
        reserver, self._reserver = self._reserver, None
        if reserver is None:
            return True  # no reservation (or released already): the blob is ours
        return reserver.release(self.message_id)
