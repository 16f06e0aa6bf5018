"""Atomic publication of a folder of results.

A run writes everything into a staging folder next to the target, then swaps it in with
two renames. If the run is killed while staging, the target is untouched; if it is
killed between the two renames, the next run finds the previous folder set aside and
puts it back (`recover`). Readers therefore always see one whole snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

KEEP = (".gitkeep", "README.md")   # committed files that live in the target folder


def _siblings(target: Path, tag: str) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.{tag}-*"))


def recover(target: Path) -> None:
    """Undo what an interrupted run left: restore a set-aside target, drop stale staging."""
    if not target.exists():
        old = _siblings(target, "old")
        if old:
            old[-1].rename(target)
    for stale in _siblings(target, "new") + _siblings(target, "old"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def staged(target: Path):
    """Yield a staging folder; on normal exit it replaces `target`, on error it vanishes."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        yield stage
        for name in KEEP:
            if (target / name).exists() and not (stage / name).exists():
                shutil.copy2(target / name, stage / name)
        _fsync_tree(stage)
        aside = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            target.rename(aside)
        stage.rename(target)
        shutil.rmtree(aside, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)
