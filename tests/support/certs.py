"""Certificates for tests of the ACME store area and hot-loading: a trustme CA's leaf
for given names, as the PEM chain and key the store keeps."""

from __future__ import annotations

from dataclasses import dataclass

import trustme


@dataclass(frozen=True)
class Pair:
    ca: trustme.CA
    chain_pem: str
    key_pem: str


def issue_pair(*names: str, ca: trustme.CA | None = None) -> Pair:
    authority = ca or trustme.CA()
    leaf = authority.issue_cert(*names)
    chain = "".join(blob.bytes().decode() for blob in leaf.cert_chain_pems)
    return Pair(authority, chain, leaf.private_key_pem.bytes().decode())
