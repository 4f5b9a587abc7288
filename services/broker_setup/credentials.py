"""Random passwords and Mosquitto's password-file hash, without mosquitto_passwd.

Mosquitto 2.0 reads `user:$7$<iterations>$<salt b64>$<pbkdf2-sha512 b64>`
(the format `mosquitto_passwd` writes). Passwords are 32 random URL-safe
characters, so the default 101 PBKDF2 iterations cost nothing in strength.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from shared.atomic_file import write_atomic

ITERATIONS = 101
SALT_BYTES = 12
_USER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def generate_password() -> str:
    return secrets.token_urlsafe(24)


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def env_override(user: str, environ: Mapping[str, str]) -> str | None:
    """`CANBRIDGE_PASSWORD_<USER>` (dashes as underscores) pins a user's password."""
    return environ.get("CANBRIDGE_PASSWORD_" + user.upper().replace("-", "_")) or None


def ensure_passwords(
    secrets_dir: Path, users: Iterable[str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return every user's password, creating `<secrets_dir>/<user>` (0600) where missing.

    An existing file is kept, so passwords stay stable across restarts and
    upgrades; an env override replaces the stored one.
    """
    environ = os.environ if environ is None else environ
    secrets_dir.mkdir(parents=True, exist_ok=True)
    result = {}
    for user in users:
        if not _USER_RE.match(user):
            raise ValueError(f"user name {user!r} may only use letters, digits, '_', '.', '-'")
        path = secrets_dir / user
        pinned = env_override(user, environ)
        if pinned is not None:
            password = pinned
        elif path.exists():
            password = path.read_text().strip()
        else:
            password = generate_password()
        if not path.exists() or path.read_text().strip() != password:
            write_atomic(path, password + "\n", durable=True)
        result[user] = password
    return result


def write_password_file(path: Path, passwords: Mapping[str, str]) -> None:
    lines = "".join(f"{user}:{hash_password(pw)}\n" for user, pw in sorted(passwords.items()))
    write_atomic(path, lines, durable=True)
