"""Pseudonymisation: stable IDs from direct identifiers with a keyed hash (HMAC-SHA256).

The key is a local secret created on first use (32 random bytes, file mode 600, kept out
of git by .gitignore). With the key, the same person gets the same ID in every file and
at every landlord, so records can be linked; without it, an ID cannot be traced back to
a name, not even by trying every name and birth date (which a plain hash would allow).
The secret is never printed or logged. Keep it with the raw exports: losing it means the
next `prepare` gives everyone new IDs (nothing else breaks); sharing it with someone who
holds processed data lets them re-identify people.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import UserError
from .normalise import fold

DEFAULT_SECRET = Path(".secrets") / "pseudonymisation.key"
ENV_VAR = "INCREASE_EVAL_SECRET"   # path of the secret file, overriding the default
ID_HEX = 16                         # 64-bit IDs: collisions negligible below 10^8 people


class Pseudonymiser:
    def __init__(self, key: bytes):
        if len(key) < 32:
            raise UserError("the pseudonymisation secret is shorter than 32 bytes; delete it to have a new one "
                            "made (every ID will change) or restore the original")
        # HMAC-SHA256 (RFC 2104) with the keyed inner and outer states made once: each ID
        # then costs two copies and two updates, not a new HMAC object (several times faster
        # over millions of tenancies; the same digests as hmac.new, tested)
        self._key = key
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def __reduce__(self):   # to worker processes: hashlib states do not pickle, the key does
        return (Pseudonymiser, (self._key,))

    def __repr__(self) -> str:   # never show the key, even in a debugger or a log
        return "Pseudonymiser(<secret>)"

    def _digest(self, text: str) -> str:
        inner = self._inner.copy()
        inner.update(text.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:ID_HEX]

    def person_keys(self, first: pd.Series, last: pd.Series, birth: pd.Series) -> pd.Series:
        """Person ID from name and birth date, insensitive to case, accents, spacing and
        punctuation, so that 'Élodie Martin' and 'ELODIE  MARTIN' are one person."""
        text = _keys(last) + "|" + _keys(first) + "|" + birth.dt.strftime("%Y-%m-%d")
        return self.many("person", text)

    def many(self, kind: str, values: pd.Series) -> pd.Series:
        """Hash a column, computing each distinct value once."""
        codes, uniques = pd.factorize(values.astype("string"), sort=False)
        hashed = np.array([f"{kind[0].upper()}{self._digest(kind + '|' + str(u))}" for u in uniques], dtype=object)
        out = np.full(len(values), None, dtype=object)
        ok = codes >= 0
        out[ok] = hashed[codes[ok]]
        return pd.Series(out, index=values.index, dtype="string")


def _name_key(name: str) -> str:
    return fold(name).replace(" ", "")


def _keys(names: pd.Series) -> pd.Series:
    """_name_key of each name, worked out once per distinct spelling."""
    keys = {name: _name_key(name) for name in names.dropna().unique()}
    return names.map(keys, na_action="ignore").astype("string")


def secret_path(path: Path | str | None = None) -> Path:
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_SECRET)


def load_or_create(path: Path | str | None = None) -> tuple[Pseudonymiser, bool]:
    """The secret at `path` (created with mode 600 if absent); returns (pseudonymiser, created)."""
    path = secret_path(path)
    if path.exists():
        if not path.is_file():
            raise UserError(f"the pseudonymisation secret {path} is not a file; point {ENV_VAR} or --secret "
                            f"at the secret file")
        try:
            text = path.read_text(encoding="ascii").strip()
            key = bytes.fromhex(text)
        except PermissionError:
            raise UserError(f"the pseudonymisation secret {path} cannot be read (permission denied); run as "
                            f"the user who owns it, or fix its permissions with: chmod 600 {path}") from None
        except (ValueError, UnicodeDecodeError):
            raise UserError(f"the pseudonymisation secret {path} is damaged (expected 64 hexadecimal "
                            f"characters); restore it from your backup, or delete it to start new IDs") from None
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise UserError(f"the pseudonymisation secret {path} can be read by other users; restrict it with: "
                            f"chmod 600 {path}")
        return Pseudonymiser(key), False
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return Pseudonymiser(key), True
