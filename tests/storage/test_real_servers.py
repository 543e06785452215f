"""The test servers themselves: loopback only, unprivileged, no secret on a command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from storage.postgres.connection import IndexUnavailable, open_index

pytestmark = pytest.mark.external


def listening(pid: int) -> list[str]:
    """Local addresses the process listens on (TCP and UDP), from ss."""
    out = subprocess.run(["ss", "-ltunpH"], capture_output=True, text=True, check=True).stdout
    return [line.split()[4] for line in out.splitlines() if f"pid={pid}," in line]


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_postgres_is_loopback_only_unprivileged_and_durable(postgres_server, postgres_dsn):
    with psycopg.connect(postgres_dsn) as conn:
        settings = conn.execute(
            "SELECT current_user, current_setting('listen_addresses'), current_setting('fsync')"
        ).fetchone()
    assert settings == ("gateway", "127.0.0.1", "on")
    pid = postgres_server.postmaster_pid()
    assert pid and listening(pid) == [f"127.0.0.1:{postgres_server.port}"]
    assert os.stat(f"/proc/{pid}").st_uid != 0
    assert postgres_server.password not in cmdline(pid)
    assert postgres_server.password not in postgres_dsn
    assert oct(postgres_server.passfile.stat().st_mode & 0o777) == "0o600"


def test_postgres_stop_and_start_keep_the_data(postgres_server, postgres_dsn):
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
    postgres_server.stop()
    with pytest.raises(IndexUnavailable, match="cannot reach the index at 127.0.0.1:"):
        open_index(postgres_dsn)
    postgres_server.start()
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]


def test_seaweed_binds_loopback_only_and_keeps_its_secret_in_a_file(seaweed_s3):
    pid = seaweed_s3.proc.pid
    addresses = listening(pid)
    assert len(addresses) >= 9  # master, volume, filer, s3, their gRPC ports, admin
    assert all(address.startswith("127.0.0.1:") for address in addresses), addresses
    assert f"127.0.0.1:{seaweed_s3.ports['s3.port']}" in addresses
    assert seaweed_s3.secret_access_key not in cmdline(pid)
    assert oct(seaweed_s3.config.stat().st_mode & 0o777) == "0o600"
