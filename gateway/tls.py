"""TLS for every listener: configured PEM files or a self-signed certificate in DATA/tls/.

One `TlsManager` owns the server SSLContext; `reload()` (SIGHUP, file change) swaps
the certificate in place, so listeners pick it up for new handshakes.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from storage.file_modes import DIR_MODE, FILE_MODE, make_private_dirs


def create_self_signed(tls_dir: Path, hostname: str) -> tuple[Path, Path]:
    make_private_dirs(tls_dir)
    os.chmod(tls_dir, DIR_MODE)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(hostname), x509.DNSName("localhost")]

    alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Each file is written under a temporary name and renamed, key first: a concurrent
    # reader (another worker starting) never sees a half-written file, and a cert.pem
    # present means its key is already in place.
    # Both 0600: everything under DATA is private (the certificate is public, but a file
    # readable by others there would be reported by fsck and at start-up).
    _write_atomically(key_path, key_bytes, FILE_MODE)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), FILE_MODE)
    return cert_path, key_path


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, path)


def certificate_info(cert_path: Path) -> dict:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "subject": cert.subject.rfc4514_string(),
        "not_after": cert.not_valid_after_utc.timestamp(),
        "sha256": ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()),
    }


class TlsManager:
    """`acme_pem`: with tls.acme, the ACME certificate file. Until it exists the
    listeners use the self-signed certificate; `reload()` switches to it as soon as it
    appears (in every worker: the file is the signal) and reloads it when it changes."""

    def __init__(
        self,
        cert: str,
        key: str,
        data_dir: Path,
        hostname: str = "",
        acme_pem: Path | None = None,
    ) -> None:
        self.hostname = hostname or socket.getfqdn() or "localhost"
        self.data_dir = data_dir
        self.acme_pem = acme_pem
        if cert:
            self.cert_path, self.key_path = Path(cert), Path(key)
            self.self_signed = False
        else:
            tls_dir = data_dir / "tls"
            self.cert_path, self.key_path = tls_dir / "cert.pem", tls_dir / "key.pem"
            self.self_signed = True
            if not self.cert_path.exists():
                create_self_signed(tls_dir, self.hostname)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.options |= ssl.OP_NO_COMPRESSION
        self._mtimes: tuple[float, float] = (0.0, 0.0)
        self.reload()

    def reload(self, force: bool = False) -> bool:
        """Load the certificate files again if they changed (or `force`); True if loaded."""
        if self.acme_pem is not None and self.cert_path != self.acme_pem:
            if self.acme_pem.exists():
                self._load(self.acme_pem, self.acme_pem)
                self.cert_path = self.key_path = self.acme_pem
                self.self_signed = False
                return True
        mtimes = (self.cert_path.stat().st_mtime, self.key_path.stat().st_mtime)
        if mtimes == self._mtimes and not force:
            return False
        self._load(self.cert_path, self.key_path)
        return True

    def _load(self, cert_path: Path, key_path: Path) -> None:
        """Check the pair in a scratch context first: a failed load_cert_chain can leave
        a context with the new certificate and no key, and every handshake would fail."""
        mtimes = (cert_path.stat().st_mtime, key_path.stat().st_mtime)
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
        self.context.load_cert_chain(cert_path, key_path)
        self._mtimes = mtimes

    def info(self) -> dict:
        return certificate_info(self.cert_path)
