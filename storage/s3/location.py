"""Where the objects go: `storage.blobs = "s3://BUCKET[/PREFIX]"` and the S3 settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InvalidInput

SCHEME = "s3://"
# S3's rules for new buckets: 3-63 of a-z 0-9 . -, starting and ending alphanumeric.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX_PART = re.compile(r"[A-Za-z0-9!_.*'()-]+")  # S3's "safe characters" for keys


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str = ""  # "" or ends with "/": prepended to every key

    @classmethod
    def parse(cls, value: str) -> S3Location:
        """`s3://BUCKET` or `s3://BUCKET/PREFIX`; InvalidInput with the rule broken."""
        if not value.startswith(SCHEME):
            raise InvalidInput("storage.blobs must be files or s3://BUCKET[/PREFIX]")
        bucket, _, prefix = value[len(SCHEME) :].partition("/")
        if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
            raise InvalidInput(
                "bucket name {bucket!r}: 3 to 63 lowercase letters, digits, dots or hyphens,"
                " starting and ending with a letter or digit",
                bucket=bucket,
            )
        parts = [part for part in prefix.split("/") if part]
        for part in parts:
            if not PREFIX_PART.fullmatch(part) or part in (".", ".."):
                raise InvalidInput(
                    "key prefix {prefix!r}: use letters, digits and !_.*'()- between slashes",
                    prefix=prefix,
                )
        return cls(bucket, "".join(f"{part}/" for part in parts))

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True)
class S3Settings:
    """How to reach the object store; the secret never appears in repr or messages."""

    endpoint: str  # e.g. https://s3.example.net; "" for the AWS default of the region
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
