"""Light Argon2id parameters: real Argon2id, cheap enough to keep the suite fast.

Real parameters everywhere except where a test says otherwise would hide cost bugs;
tests of the KDF itself use the real parameters explicitly (tests/storage/test_keys.py).
"""

from __future__ import annotations

from argon2 import PasswordHasher

from storage import KdfParams

# For stores opened in the test process.
FAST_KDF = KdfParams(memory_kib=8192, iterations=1, lanes=1)

# Admin console passwords for stores opened in the test process (open_store's
# password_hasher); the production parameters are the store's default.
FAST_PASSWORDS = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# The same passphrase parameters for `gateway` run through click's runner or as a subprocess.
FAST_ENV = {
    "GATEWAY_CRYPTO__ARGON2_MEMORY_KIB": str(FAST_KDF.memory_kib),
    "GATEWAY_CRYPTO__ARGON2_ITERATIONS": str(FAST_KDF.iterations),
    "GATEWAY_CRYPTO__ARGON2_LANES": str(FAST_KDF.lanes),
}
