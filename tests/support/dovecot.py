"""A private Dovecot on loopback as a fetch source: POP3 and IMAP, each with STARTTLS
and implicit TLS, passwd-file users with Maildirs, a trustme certificate.

Everything is under one temporary directory (outside pytest's 0700 tmp tree: the mail
processes run as `nobody` and must reach the Maildirs). The accounts are written
before it starts and handed out one per test (`claim_user`): Dovecot rereads a changed
passwd-file only when its mtime second changes, so adding users while it runs races.
Needs root, dovecot-core,
dovecot-pop3d and dovecot-imapd (.ci/run installs them).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .ports import free_port, wait_listening
from .tools import not_available, stop_process

DOVECOT = "/usr/sbin/dovecot"
BINARIES = (DOVECOT, "/usr/lib/dovecot/pop3", "/usr/lib/dovecot/imap")
MAIL_USER = "nobody"

CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
instance_name = jgw-source-{imap}
log_path = {base}/dovecot.log
protocols = pop3 imap
listen = 127.0.0.1
shutdown_clients = yes
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
ssl = yes
ssl_cert = <{base}/tls/cert.pem
ssl_key = <{base}/tls/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {base}/users
}}
{oauth2}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
mail_location = maildir:~/Maildir
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
"""


# Dovecot's oauth2 passdb: XOAUTH2/OAUTHBEARER tokens checked by RFC 7662 introspection.
OAUTH2_PASSDB = """passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {base}/oauth2.conf.ext
}}"""
OAUTH2_CONF = """introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


def dovecot_missing() -> str | None:
    for path in BINARIES:
        if not os.path.exists(path):
            return f"{path} is not installed (apt-get install dovecot-pop3d dovecot-imapd)"
    if os.geteuid() != 0:
        return "a private Dovecot needs root (it switches to the mail user)"
    return None


@dataclass
class SourceDovecot:
    base: Path
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    users: int = 0
    claimed: int = 0

    @classmethod
    def start(
        cls, cert_pem: bytes, key_pem: bytes, users: int = 100, introspection_url: str = ""
    ) -> SourceDovecot:
        """`introspection_url`: also accept OAuth2 tokens, checked there."""
        reason = dovecot_missing()
        if reason:
            not_available(reason)
        base = Path(tempfile.mkdtemp(prefix="jgw-dovecot-"))
        os.chmod(base, 0o755)
        server = cls(base, users=users)
        for sub in ("run", "state", "mail", "tls"):
            (base / sub).mkdir()
        (base / "tls/cert.pem").write_bytes(cert_pem)
        (base / "tls/key.pem").write_bytes(key_pem)
        os.chmod(base / "tls/key.pem", 0o600)
        (base / "users").write_text(
            "".join(f"{server.user(n)}:{{PLAIN}}{server.password(n)}\n" for n in range(users))
        )
        mail = pwd.getpwnam(MAIL_USER)
        os.chown(base / "mail", mail.pw_uid, mail.pw_gid)
        server.ports = {k: free_port() for k in ("pop3", "pop3s", "imap", "imaps")}
        conf = base / "dovecot.conf"
        oauth2 = ""
        if introspection_url:
            (base / "oauth2.conf.ext").write_text(OAUTH2_CONF.format(url=introspection_url))
            oauth2 = OAUTH2_PASSDB.format(base=base)
        conf.write_text(
            CONFIG.format(
                base=base, uid=mail.pw_uid, gid=mail.pw_gid, oauth2=oauth2, **server.ports
            )
        )
        with open(base / "dovecot.stdout", "wb") as out:
            server.proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT
            )
        for port in server.ports.values():
            if not wait_listening(port, 30, lambda: server.proc.poll() is None):
                log = server.log_tail()
                server.stop()
                raise RuntimeError(f"dovecot did not start:\n{log}")
        return server

    @staticmethod
    def user(n: int) -> str:
        return f"user{n}@source.test"

    @staticmethod
    def password(n: int) -> str:
        return f"pw-{n}-Zx9!source"

    def claim_user(self) -> tuple[str, str, Path]:
        """A fresh account: (user, password, its empty Maildir owned by the mail user)."""
        if self.claimed >= self.users:
            raise RuntimeError("the test Dovecot has no unused account left")
        n, self.claimed = self.claimed, self.claimed + 1
        name = self.user(n)
        maildir = self.base / "mail" / name / "Maildir"
        mail = pwd.getpwnam(MAIL_USER)
        for sub in ("", "new", "cur", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        for path in (maildir.parent, maildir, *(maildir / s for s in ("new", "cur", "tmp"))):
            os.chown(path, mail.pw_uid, mail.pw_gid)
        return name, self.password(n), maildir

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("dovecot.stdout", "dovecot.log"):
            path = self.base / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    def stop(self) -> None:
        stop_process(self.proc, 20)
        shutil.rmtree(self.base, ignore_errors=True)


_counter = [0]


def put_message(maildir: Path, raw: bytes) -> Path:
    """Drop one message into a Maildir's new/ (LF line endings, as Maildir keeps them)."""
    _counter[0] += 1
    name = f"{time.time():.6f}.M{_counter[0]}P{os.getpid()}.jgwtest"
    path = maildir / "new" / name
    path.write_bytes(raw)
    mail = pwd.getpwnam(MAIL_USER)
    os.chown(path, mail.pw_uid, mail.pw_gid)
    return path


def maildir_messages(maildir: Path) -> list[bytes]:
    """Every message still in the Maildir (new/ and cur/), in name order."""
    files = sorted([*maildir.glob("new/*"), *maildir.glob("cur/*")], key=lambda p: p.name)
    return [p.read_bytes() for p in files]
