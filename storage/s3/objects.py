"""Message files as objects in an S3-compatible store; the job storage/blobs.py does on disk.

Synchronous (botocore): the store contract is synchronous and runs in the store's
thread pool. An object is written once and never replaced: every write carries
`If-None-Match: *` (PUT, or CompleteMultipartUpload), so a second writer of the same key
gets ObjectExists instead of overwriting. A stream larger than one part goes up as a
multipart upload holding at most one part in memory; any failure aborts the upload, so
no partial object is ever listed. Only after put_stream returns has the store
acknowledged the whole object.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import botocore.config
import botocore.exceptions
import botocore.handlers
import botocore.session

from ..errors import AlreadyExists, NotFound, StoreError
from .chunks import ChunkBody
from .location import S3Location, S3Settings

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (all but the last)
PART_SIZE = 8 * 1024 * 1024
PAGE_SIZE = 1000
READ_BUFFER = 256 * 1024
MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
EXISTS = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
OWNED = {"BucketAlreadyOwnedByYou"}  # BucketAlreadyExists: someone else's: an error
BOTO_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


class ObjectStoreError(StoreError):
    """The object store failed or cannot be reached (retry later: SMTP 4xx)."""


class ObjectExists(AlreadyExists):
    """A write would have replaced an existing object; nothing was changed."""


@dataclass(frozen=True)
class PutResult:
    size: int
    sha256: str


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    modified: float = 0.0  # Unix time (LastModified)


@dataclass(frozen=True)
class PendingUpload:
    """A multipart upload begun and neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: float  # Unix time


def make_client(settings: S3Settings, timeout: float = 30.0) -> Any:
    """A botocore S3 client with explicit credentials (no profile, no instance metadata)."""
    config = botocore.config.Config(
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
        # Checksums beyond the signed payload only when the operation demands them:
        # S3-compatible stores differ in the newer trailing-checksum encodings.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=16,
    )
    client = botocore.session.Session().create_client(
        "s3",
        endpoint_url=settings.endpoint or None,
        region_name=settings.region,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        config=config,
    )
    # A part's body is a file (storage/s3/chunks.py), for which botocore would send
    # "Expect: 100-continue" and wait up to a second for a store that ignores it.
    client.meta.events.unregister("before-call.s3", botocore.handlers.add_expect_header)
    return client


def error_code(exc: botocore.exceptions.ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))


class ObjectStore:
    """Objects under one bucket and key prefix; keys given and returned are relative."""

    def __init__(self, client: Any, location: S3Location, *, part_size: int = PART_SIZE) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE}")
        self.client = client
        self.location = location
        self.part_size = part_size

    def _key(self, key: str) -> str:
        return self.location.prefix + key

    @contextlib.contextmanager
    def _failures(self, doing: str, key: str = "") -> Iterator[None]:
        """botocore's errors as store errors that say what failed, never a credential."""
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if code in EXISTS:
                raise ObjectExists("object {key} already exists", key=key) from exc
            if code in MISSING:
                raise NotFound("object {key} not found", key=key) from exc
            raise ObjectStoreError(
                "object store: {doing} {key} failed ({code})", doing=doing, key=key, code=code
            ) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise ObjectStoreError(
                "object store unreachable: {doing} {key} ({reason})",
                doing=doing,
                key=key,
                reason=type(exc).__name__,
            ) from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if missing (another node creating it at once is fine)."""
        bucket = self.location.bucket
        with self._failures("checking bucket", bucket):
            try:
                self.client.head_bucket(Bucket=bucket)
                return
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) not in MISSING:
                    raise
            try:
                self.client.create_bucket(Bucket=bucket)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) not in OWNED:
                    raise

    def upload(self, key: str) -> Upload:
        """A new object written part by part (see Upload); nothing is sent yet."""
        return Upload(self, key)

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> PutResult:
        """Store `chunks` as a new object; ObjectExists if the key is taken."""
        writer = Upload(self, key)
        buffer = bytearray(self.part_size)
        filled = 0
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                writer.digest(view)
                while view:
                    take = min(len(view), self.part_size - filled)
                    buffer[filled : filled + take] = view[:take]
                    filled, view = filled + take, view[take:]
                    if filled == self.part_size:
                        writer.part(buffer)
                        filled = 0
            return writer.finish(memoryview(buffer)[:filled])
        except BaseException:
            writer.abort()
            raise

    def open(self, key: str) -> BinaryIO:
        """A streaming reader of the object (read(n), readinto, with-block): one GET
        whose body is read as it is consumed, never held whole. A failure while
        reading is an ObjectStoreError."""
        with self._failures("reading", key):
            response = self.client.get_object(Bucket=self.location.bucket, Key=self._key(key))
        return io.BufferedReader(_BodyReader(self, key, response["Body"]), READ_BUFFER)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            with self._failures("checking", key):
                response = self.client.head_object(Bucket=self.location.bucket, Key=self._key(key))
        except NotFound:
            return None
        return ObjectInfo(
            size=response["ContentLength"],
            etag=response["ETag"],
            modified=response["LastModified"].timestamp(),
        )

    def copy(self, source: str, target: str) -> None:
        """Copy an object within the bucket (objects up to 5 GiB: messages are far
        smaller); NotFound when the source is gone, ObjectExists if the target is taken."""
        bucket = self.location.bucket
        with self._failures("copying", source):
            self.client.copy_object(
                Bucket=bucket,
                Key=self._key(target),
                CopySource={"Bucket": bucket, "Key": self._key(source)},
            )

    def pending_uploads(self, prefix: str = "") -> Iterator[PendingUpload]:
        """Multipart uploads under `prefix` that were begun and not finished."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        pages = paginator.paginate(Bucket=self.location.bucket, Prefix=self._key(prefix))
        strip = len(self.location.prefix)
        with self._failures("listing uploads", prefix):
            for page in pages:
                for entry in page.get("Uploads", ()):
                    yield PendingUpload(
                        entry["Key"][strip:], entry["UploadId"], entry["Initiated"].timestamp()
                    )

    def abort_upload(self, key: str, upload_id: str) -> None:
        """Drop an unfinished upload's parts; one already gone is not an error."""
        try:
            with self._failures("aborting upload of", key):
                self.client.abort_multipart_upload(
                    Bucket=self.location.bucket, Key=self._key(key), UploadId=upload_id
                )
        except NotFound:
            pass

    def delete(self, key: str) -> None:
        """Remove the object; a key already gone is not an error."""
        with self._failures("deleting", key):
            self.client.delete_object(Bucket=self.location.bucket, Key=self._key(key))

    def list(self, prefix: str = "", page_size: int = PAGE_SIZE) -> Iterator[str]:
        """Every key under `prefix`, in key order, page by page."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.location.bucket,
            Prefix=self._key(prefix),
            PaginationConfig={"PageSize": page_size},
        )
        strip = len(self.location.prefix)
        with self._failures("listing", prefix):
            for page in pages:
                for entry in page.get("Contents", ()):
                    yield entry["Key"][strip:]


class _BodyReader(io.RawIOBase):
    """A GET's streaming body as a raw file: transport faults become ObjectStoreError."""

    def __init__(self, store: ObjectStore, key: str, body: Any) -> None:
        self._store, self._key, self._body = store, key, body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._store._failures("reading", self._key):
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class Upload:
    """One object being written: a single PUT if it fits in one part, else multipart.

    The caller sends full parts with part(), then finish() with the rest, or abort().
    Only finish() makes the object exist, with If-None-Match: * either way."""

    def __init__(self, store: ObjectStore, key: str) -> None:
        self.store = store
        self.key = key
        self.full_key = store._key(key)
        self.hash = hashlib.sha256()
        self.size = 0
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def digest(self, data: memoryview) -> None:
        self.hash.update(data)
        self.size += len(data)

    def part(self, data: bytes | bytearray | ChunkBody) -> None:
        """Send the next part; the caller may reuse `data` once this returns."""
        client, bucket = self.store.client, self.store.location.bucket
        with self.store._failures("uploading", self.key):
            if self.upload_id is None:
                created = client.create_multipart_upload(Bucket=bucket, Key=self.full_key)
                self.upload_id = created["UploadId"]
            number = len(self.parts) + 1
            sent = client.upload_part(
                Bucket=bucket,
                Key=self.full_key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=data,
            )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def finish(self, rest: memoryview | ChunkBody) -> PutResult:
        client, bucket = self.store.client, self.store.location.bucket
        body = bytes(rest) if isinstance(rest, memoryview) else rest
        if self.upload_id is None:
            with self.store._failures("storing", self.key):
                client.put_object(Bucket=bucket, Key=self.full_key, Body=body, IfNoneMatch="*")
        else:
            if len(rest):
                self.part(body)
            with self.store._failures("storing", self.key):
                client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self.full_key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts},
                    IfNoneMatch="*",
                )
            self.upload_id = None  # completed: nothing left to abort
        return PutResult(size=self.size, sha256=self.hash.hexdigest())

    def abort(self) -> None:
        """Drop the parts sent so far (best effort: the store may be the thing that failed)."""
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        with contextlib.suppress(*BOTO_ERRORS):
            self.store.client.abort_multipart_upload(
                Bucket=self.store.location.bucket, Key=self.full_key, UploadId=upload_id
            )
