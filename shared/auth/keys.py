"""The RS256 key pair that signs and verifies JWTs.

Only the user service holds the private key; the gateway and the other services get the public key
only. `python -m shared.auth.keys PRIVATE_DIR PUBLIC_DIR` makes the pair at first start if it is absent
(compose runs it as the one-shot `jwt-keys` service); keys are never committed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PRIVATE_NAME = "jwt_private.pem"
PUBLIC_NAME = "jwt_public.pem"


def ensure_key_pair(private_dir: Path, public_dir: Path) -> bool:
    """Make the pair (private key in `private_dir`, public in `public_dir`) unless it is there.

    Two directories so that compose can mount the private one into the user service only.
    Returns True if a new pair was made.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_path, public_path = private_dir / PRIVATE_NAME, public_dir / PUBLIC_NAME
    if private_path.exists() and public_path.exists():
        return False
    private_dir.mkdir(parents=True, exist_ok=True)
    public_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.write_bytes(private_pem)
    os.chmod(private_path, 0o640)
    public_path.write_bytes(public_pem)
    os.chmod(public_path, 0o644)
    return True


def read_key(path: str) -> str:
    """The PEM text at `path`, or "" when the file is not there (e.g. no private key outside user)."""
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        return ""


if __name__ == "__main__":
    private_dir, public_dir = (Path(arg) for arg in sys.argv[1:3])
    made = ensure_key_pair(private_dir, public_dir)
    print(f"{'made' if made else 'kept'} the JWT key pair ({private_dir}, {public_dir})")
