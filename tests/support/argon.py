"""Light Argon2id parameters: real Argon2id, cheap enough to keep the suite fast.

Real parameters everywhere except where a test says otherwise would hide cost bugs;
tests of the KDF itself use the real parameters explicitly (tests/storage/test_keys.py).
"""

from __future__ import annotations

from storage import KdfParams

# For stores opened in the test process.
FAST_KDF = KdfParams(memory_kib=8192, iterations=1, lanes=1)

# The same parameters for `gateway` run through click's runner or as a subprocess.
FAST_ENV = {
    "GATEWAY_CRYPTO__ARGON2_MEMORY_KIB": str(FAST_KDF.memory_kib),
    "GATEWAY_CRYPTO__ARGON2_ITERATIONS": str(FAST_KDF.iterations),
    "GATEWAY_CRYPTO__ARGON2_LANES": str(FAST_KDF.lanes),
}
