"""How the engine stores what it writes: atomically, with the mode a new file gets here, and signed.

Every file is written atomically (a temporary file in the same folder, then ``os.replace``), so a
reader never sees half a file.

Every ``results.json`` the engine writes under a folder is signed (``extra_data.signature``, an
HMAC-SHA256 keyed by ``<folder>/results.key``, which only the judge's user may read and no worker can
reach) and carries the SHA-256 of the ``executed.ipynb`` beside it. What reads results back
(``--resume``, ``merge``, ``feedback``, ``--gradebook``) takes only files that verify: one that a
worker or anything else wrote is not a result.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path


@functools.lru_cache(maxsize=1)
def file_mode() -> int:
    """The mode ``open()`` gives a new file here: 0666 less the process's umask."""
    try:
        with open("/proc/self/status") as status:     # reads the umask without changing it
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file and a rename: a reader
    never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())     # mkstemp's 0600 would keep a TA's account or a web server out
        with (os.fdopen(fd, "wb") if isinstance(data, bytes) else
              os.fdopen(fd, "w", encoding="utf-8", newline="")) as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


KEY_FILE = "results.key"


def key(out: Path) -> bytes:
    """The signing key of the results under ``out``: read, or made (mode 0600) by the first writer."""
    path = Path(out) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out_file:
            out_file.write(secrets.token_hex(32) + "\n")
    secret = _read_key(path)
    if secret is None:             # never sign with a key anyone could guess
        from autograder.course import CourseError

        raise CourseError(f"{path} is not a signing key this engine wrote (64 hex digits): move it away, "
                          f"or grade into another folder")
    return secret


def _read_key(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as key_file:
            text = key_file.read().strip()
    except OSError:
        return None
    return text.encode() if len(text) == 64 else None


def signature(data: dict, secret: bytes) -> str:
    """HMAC-SHA256 of ``data`` without its signature, as canonical JSON."""
    extra = {k: v for k, v in data.get("extra_data", {}).items() if k != "signature"}
    body = json.dumps(dict(data, extra_data=extra), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(secret, body.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(data: dict, secret: bytes) -> dict:
    data["extra_data"]["signature"] = signature(data, secret)
    return data


def read_signed(path: Path) -> dict | None:
    """A results.json's data if it is signed with the key of its run (``<run>/<student>/<aid>/``)."""
    secret = _read_key(Path(path).parent.parent.parent / KEY_FILE)
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        claimed = data["extra_data"]["signature"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if secret is None or not isinstance(claimed, str) or not hmac.compare_digest(claimed, signature(data, secret)):
        return None
    return data


def executed_matches(data: dict, text: str) -> bool:
    """Whether ``text`` is the executed notebook that the (verified) results ``data`` were written with."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return hmac.compare_digest(str(data.get("extra_data", {}).get("executed_sha256", "")), digest)
