"""A private Postfix (Debian's) as a smarthost and relay target, for tests.

`postfix -c DIR start` with its own main.cf and master.cf: queue and data directories
under DIR, two smtpd listeners on free 127.0.0.1 ports (one offering STARTTLS with the
test CA's certificate, one without TLS), and the `virtual` agent delivering every
accepted message into one Maildir, DIR/mail/all/. Messages that carry
"Delivered-To: ADDR" were delivered for ADDR.

Some recipients fail on purpose (check_recipient_access): temp-fail@target.test gets
450 at RCPT, reject@target.test 550; data-temp-fail@target.test gets 451 at the end of
DATA and slow@target.test waits 30 s there (smtpd_end_of_data_restrictions). `routes`
sends other domains on to 127.0.0.1 ports (a second gateway), in clear text.

Postfix's own processes run as the `postfix` user, which cannot enter pytest's 0700
temporary directories: the instance lives in its own directory under /tmp (0755),
removed when stopped. Starting it needs root (the CI container runs tests as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import free_port, wait_listening
from tests.support.tools import not_available, require_tool

DOMAIN = "target.test"
START_TIMEOUT = 30.0
SERVICES = (
    # name, type, private, unpriv, chroot, wakeup, maxproc, command
    "pickup    unix  n - n 60 1 pickup",
    "cleanup   unix  n - n - 0 cleanup",
    "qmgr      unix  n - n 300 1 qmgr",
    "tlsmgr    unix  - - n 1000? 1 tlsmgr",
    "rewrite   unix  - - n - - trivial-rewrite",
    "bounce    unix  - - n - 0 bounce",
    "defer     unix  - - n - 0 bounce",
    "trace     unix  - - n - 0 bounce",
    "verify    unix  - - n - 1 verify",
    "flush     unix  n - n 1000? 0 flush",
    "proxymap  unix  - - n - - proxymap",
    "proxywrite unix - - n - 1 proxymap",
    "smtp      unix  - - n - - smtp",
    "relay     unix  - - n - - smtp",
    "showq     unix  n - n - - showq",
    "error     unix  - - n - - error",
    "retry     unix  - - n - - error",
    "discard   unix  - - n - - discard",
    "local     unix  - n n - - local",
    "virtual   unix  - n n - - virtual",
    "anvil     unix  - - n - 1 anvil",
    "scache    unix  - - n - 1 scache",
    "postlog   unix-dgram n - n - 1 postlogd",
)


class Postfix:
    """One private Postfix instance; `tls_port` offers STARTTLS, `plain_port` does not."""

    def __init__(self, cert: Path, key: Path, routes: dict[str, int] | None = None) -> None:
        """`routes`: {domain: port} relayed onward to 127.0.0.1:port (another gateway)."""
        require_tool("postfix")
        if os.geteuid() != 0:
            not_available("a private Postfix instance needs root here")
        self.root = Path(tempfile.mkdtemp(prefix="postfix-", dir="/tmp"))
        self.root.chmod(0o755)
        self.config_dir = self.root / "etc"
        self.maildir = self.root / "mail" / "all"
        self.tls_port = free_port()
        self.plain_port = free_port()
        self._cert, self._key = cert, key
        self._routes = routes or {}

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        owner = pwd.getpwnam("postfix")
        self.config_dir.mkdir()
        for sub in ("queue", "data", "mail"):
            (self.root / sub).mkdir()
        for sub in ("data", "mail"):
            os.chown(self.root / sub, owner.pw_uid, owner.pw_gid)
        shutil.copy(self._cert, self.config_dir / "cert.pem")
        shutil.copy(self._key, self.config_dir / "key.pem")
        (self.config_dir / "main.cf").write_text(self._main_cf(owner.pw_uid, owner.pw_gid))
        (self.config_dir / "master.cf").write_text(self._master_cf())
        for dynamic in ("dynamicmaps.cf", "postfix-files"):
            if Path("/etc/postfix", dynamic).exists():
                shutil.copy(Path("/etc/postfix", dynamic), self.config_dir / dynamic)
        for directory in ("dynamicmaps.cf.d", "postfix-files.d"):
            if Path("/etc/postfix", directory).is_dir():
                shutil.copytree(Path("/etc/postfix", directory), self.config_dir / directory)
        self._postfix("start")
        for port in (self.tls_port, self.plain_port):
            if not wait_listening(port, START_TIMEOUT):
                raise RuntimeError(f"postfix does not listen on {port}:\n{self.log()}")

    def stop(self) -> None:
        if (self.root / "queue" / "pid" / "master.pid").exists():
            self._postfix("stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _postfix(self, command: str) -> None:
        result = subprocess.run(
            ["postfix", "-c", str(self.config_dir), command],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"postfix {command} failed: {result.stderr}\n{self.log()}")

    # --- configuration -----------------------------------------------------------------
    def _main_cf(self, uid: int, gid: int) -> str:
        root, etc = self.root, self.config_dir
        return f"""
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {root}/postfix.log
maillog_file_prefixes = /tmp/postfix-
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
local_header_rewrite_clients =
always_add_missing_headers = no
message_size_limit = 0
virtual_mailbox_limit = 0
mailbox_size_limit = 0
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = static:all/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
smtpd_recipient_restrictions =
  check_recipient_access inline:{{ {{temp-fail@{DOMAIN}=450 4.2.0 try later}},
    {{reject@{DOMAIN}=550 5.1.1 no such user}} }}
  permit_mynetworks, reject
smtpd_end_of_data_restrictions =
  check_recipient_access inline:{{ {{data-temp-fail@{DOMAIN}=451 4.3.0 try later}},
    {{slow@{DOMAIN}=sleep 30}} }}
transport_maps = {self._transport_map()}
smtpd_tls_cert_file = {etc}/cert.pem
smtpd_tls_key_file = {etc}/key.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtp_tls_security_level = none
"""

    def _transport_map(self) -> str:
        entries = [f"{{{domain}=smtp:[127.0.0.1]:{port}}}" for domain, port in self._routes.items()]
        return f"inline:{{ {', '.join(entries)} }}" if entries else ""

    def _master_cf(self) -> str:
        listeners = [
            f"127.0.0.1:{self.tls_port} inet n - n - - smtpd",
            f"127.0.0.1:{self.plain_port} inet n - n - - smtpd",
            "  -o smtpd_tls_security_level=none",
        ]
        return "\n".join([*listeners, *SERVICES]) + "\n"

    # --- what arrived -----------------------------------------------------------------
    def log(self) -> str:
        path = self.root / "postfix.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def delivered(self) -> list[bytes]:
        """Every message in the Maildir, oldest first."""
        folder = self.maildir / "new"
        if not folder.exists():
            return []
        files = sorted(folder.iterdir(), key=lambda path: path.stat().st_mtime_ns)
        return [path.read_bytes() for path in files]

    def delivered_to(self, address: str) -> list[bytes]:
        marker = f"Delivered-To: {address}\n".encode()
        return [message for message in self.delivered() if marker in message]

    def wait_delivered(self, address: str, count: int = 1, timeout: float = 30.0) -> list[bytes]:
        """The messages for `address` once `count` have arrived (Postfix delivers after
        it answered 250, from its queue)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.delivered_to(address)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)
