"""The S3 object store for message files, against a real SeaweedFS (weed mini)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from storage.errors import InvalidInput, NotFound, StoreError
from storage.s3.location import S3Location, S3Settings
from storage.s3.objects import (
    MIN_PART_SIZE,
    ObjectExists,
    ObjectStore,
    ObjectStoreError,
    make_client,
)
from tests.support.seaweed import S3Target, SeaweedS3

pytestmark = pytest.mark.external
MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def settings_of(target: S3Target) -> S3Settings:
    return S3Settings(
        endpoint=target.endpoint,
        region=target.region,
        access_key_id=target.access_key_id,
        secret_access_key=target.secret_access_key,
    )


def object_store(target: S3Target, prefix: str = "", timeout: float = 30.0) -> ObjectStore:
    location = S3Location.parse(f"s3://{target.bucket}/{prefix}")
    store = ObjectStore(make_client(settings_of(target), timeout=timeout), location)
    store.ensure_bucket()
    return store


def pieces(data: bytes, size: int = 64 * 1024):
    """`data` as the SMTP path would hand it over: many small chunks."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read_all(store: ObjectStore, key: str) -> bytes:
    body = store.open(key)
    try:
        return b"".join(iter(lambda: body.read(256 * 1024), b""))
    finally:
        body.close()


def open_uploads(target: S3Target, server: SeaweedS3) -> list[str]:
    listing = server.client().list_multipart_uploads(Bucket=target.bucket)
    return [upload["Key"] for upload in listing.get("Uploads", [])]


@pytest.mark.parametrize(
    "size", [0, 1, MIN_PART_SIZE - 1, MIN_PART_SIZE, MIN_PART_SIZE + 1, 8 * MIB + 1, 17 * MIB]
)
def test_round_trip_at_part_boundaries(s3_target, size):
    store = object_store(s3_target, "archive")
    data = os.urandom(size)
    result = store.put_stream("blobs/mb/2026/01/m1.age", pieces(data))
    assert (result.size, result.sha256) == (size, hashlib.sha256(data).hexdigest())
    assert read_all(store, "blobs/mb/2026/01/m1.age") == data
    info = store.head("blobs/mb/2026/01/m1.age")
    assert info is not None and info.size == size


def test_the_bucket_is_created_if_missing_and_twice_is_fine(s3_target, seaweed_s3):
    buckets = lambda: [b["Name"] for b in seaweed_s3.client().list_buckets()["Buckets"]]  # noqa: E731
    assert s3_target.bucket not in buckets()
    object_store(s3_target).ensure_bucket()
    assert s3_target.bucket in buckets()


@pytest.mark.parametrize("size", [10, 12 * MIB])
def test_an_existing_object_is_never_overwritten(s3_target, seaweed_s3, size):
    store = object_store(s3_target)
    store.put_stream("k.age", [b"first"])
    with pytest.raises(ObjectExists, match="object k.age already exists"):
        store.put_stream("k.age", pieces(b"x" * size))
    assert read_all(store, "k.age") == b"first"
    assert open_uploads(s3_target, seaweed_s3) == []  # the refused multipart was aborted


def test_two_writers_racing_for_one_key_one_wins_whole(s3_target):
    store = object_store(s3_target)
    gate = threading.Barrier(2)
    outcomes: dict[bytes, str] = {}

    def write(fill: bytes) -> None:
        gate.wait(timeout=30)
        try:
            store.put_stream("race.age", [fill * (6 * MIB)])
            outcomes[fill] = "stored"
        except ObjectExists:
            outcomes[fill] = "refused"

    threads = [threading.Thread(target=write, args=(fill,)) for fill in (b"a", b"b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes.values()) == ["refused", "stored"]
    winner = next(fill for fill, outcome in outcomes.items() if outcome == "stored")
    assert read_all(store, "race.age") == winner * (6 * MIB)


def test_list_pages_through_every_key_under_the_prefix_only(s3_target):
    store = object_store(s3_target, "p1")
    other = object_store(s3_target, "p2")
    keys = [f"blobs/mb/{n:03d}.age" for n in range(7)]
    for key in keys:
        store.put_stream(key, [key.encode()])
    other.put_stream("blobs/mb/999.age", [b"elsewhere"])
    assert list(store.list("blobs/", page_size=3)) == keys
    assert list(store.list("blobs/mb/00", page_size=2)) == keys[:7]
    assert list(other.list()) == ["blobs/mb/999.age"]


def test_delete_and_missing_objects(s3_target):
    store = object_store(s3_target)
    store.put_stream("gone.age", [b"x"])
    store.delete("gone.age")
    store.delete("gone.age")  # already gone: fine
    assert store.head("gone.age") is None
    with pytest.raises(NotFound, match="object gone.age not found"):
        store.open("gone.age")


def test_a_failing_source_aborts_the_upload_and_leaves_no_object(s3_target, seaweed_s3):
    store = object_store(s3_target)

    def broken():
        yield os.urandom(9 * MIB)  # one part sent
        raise OSError("client went away")

    with pytest.raises(OSError, match="client went away"):
        store.put_stream("half.age", broken())
    assert list(store.list()) == []
    assert open_uploads(s3_target, seaweed_s3) == []


@pytest.fixture
def own_seaweed(tmp_path):
    """A server of this test's own, to stop without disturbing the session's."""
    server = SeaweedS3(tmp_path / "weed")
    server.start()
    yield server
    server.stop()


def test_store_stopped_mid_upload_is_a_clear_error_and_no_object(own_seaweed):
    target = own_seaweed.new_target()
    store = object_store(target, timeout=5)

    def source():
        yield os.urandom(9 * MIB)  # the first part goes up
        own_seaweed.kill()
        yield os.urandom(9 * MIB)

    with pytest.raises(ObjectStoreError, match=r"object store unreachable: uploading big\.age"):
        store.put_stream("big.age", source())
    own_seaweed.start()
    assert list(store.list()) == []
    assert store.head("big.age") is None


def test_errors_never_show_the_secret(own_seaweed):
    target = own_seaweed.new_target()
    store = object_store(target, timeout=2)
    own_seaweed.stop()
    with pytest.raises(StoreError) as caught:
        store.put_stream("k.age", [b"x"])
    assert target.secret_access_key not in f"{caught.value} {caught.value!r}"
    assert target.secret_access_key not in repr(settings_of(target))


MEMORY_PROBE = """
import json, resource, sys, tracemalloc
from storage.s3.location import S3Location, S3Settings
from storage.s3.objects import ObjectStore, make_client
args = json.loads(sys.stdin.read())
store = ObjectStore(make_client(S3Settings(**args["settings"])), S3Location.parse(args["url"]))
store.ensure_bucket()
store.put_stream("warm.age", [b"w" * (9 * 1024 * 1024)])  # connections, buffers, imports
chunk = bytes(range(256)) * 256  # 64 KiB, the same object every time: the source is free
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
result = store.put_stream("big.age", (chunk for _ in range(args["chunks"])))
peak = tracemalloc.get_traced_memory()[1]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"size": result.size, "traced_peak": peak, "rss_growth_kib": grown}))
"""


@pytest.mark.slow
def test_a_150_mib_stream_goes_up_in_bounded_memory(s3_target):
    chunks = 150 * 16  # of 64 KiB
    args = {
        "settings": settings_of(s3_target).__dict__,
        "url": f"s3://{s3_target.bucket}",
        "chunks": chunks,
    }
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE],
        input=json.dumps(args),  # the secret on stdin, not in argv
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["size"] == 150 * MIB
    assert measured["traced_peak"] < 32 * MIB, measured
    assert measured["rss_growth_kib"] < 32 * 1024, measured


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://journal", "journal", ""),
        ("s3://journal/", "journal", ""),
        ("s3://journal/a/b", "journal", "a/b/"),
        ("s3://my.bucket-1//gw/", "my.bucket-1", "gw/"),
    ],
)
def test_location_parses(url, bucket, prefix):
    assert S3Location.parse(url) == S3Location(bucket, prefix)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("files", "storage.blobs must be files or s3://BUCKET"),
        ("https://x/y", "storage.blobs must be files or s3://BUCKET"),
        ("s3://", "bucket name ''"),
        ("s3://UPPER", "bucket name 'UPPER'"),
        ("s3://a..b", "bucket name 'a..b'"),
        ("s3://ok-bucket/../x", "key prefix '../x'"),
        ("s3://ok-bucket/a b", "key prefix 'a b'"),
    ],
)
def test_a_bad_location_says_what_is_wrong(url, says):
    with pytest.raises(InvalidInput, match=re.escape(says)):
        S3Location.parse(url)
