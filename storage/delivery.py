"""One message copy being stored for one mailbox: sealed and written as it arrives.

Nothing is visible until the store commits it (see SqliteStore.commit_deliveries),
which happens only after the blob is durable (storage/contract/blobs.py): on disk
fsynced, renamed and its directory fsynced; on S3 acknowledged by the object store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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


class Delivery:
    """Feed plaintext with write(); the store's commit makes it durable and visible."""

    def __init__(
        self, blobs: Blobs, mailbox_id: str, epoch: int, recipient: str, compress: bool
    ) -> None:
        self.message_id = new_message_id()
        self.mailbox_id = mailbox_id
        self.epoch = epoch
        self.received = time.time()
        self.encoding = "zstd" if compress else "raw"
        self._blobs = blobs
        self._binding = Binding(mailbox_id, self.message_id, epoch, self.encoding)
        self._sealer = MessageSealer(recipient, self._binding)
        self.path = relative_path(mailbox_id, self.received, self.message_id)
        self._temp: TempBlob | None = blobs.new_temp(self.message_id, self.path)
        try:
            self._temp.write(self._sealer.header())
        except BaseException:  # e.g. ENOSPC: nobody else holds this file to remove it
            self._temp.discard()
            raise
        self.size = 0
        self.published: PublishedFile | None = None

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
        """Throw away an unfinished or uncommitted copy; safe to call more than once."""
        if self._temp is not None:
            self._temp.discard()
            self._temp = None
        elif self.published is not None:
            self._blobs.remove(self.published.path)
            self.published = None
