"""Heavy results (arrears estimates, imputed employment and business models, value
accounts) computed once per data snapshot and kept on disk beside the processed data,
shared by notebooks, report languages, report jobs and JupyterLab sessions.

    data/.cache/processed/<snapshot>/<key>/<kind>-<scope>.pkl

- `<snapshot>`: the processed data's snapshot id and the hash of its manifest (which holds
  every source file's hash and the time `prepare` wrote it): a new `prepare` run, even of
  the same exports, is a new snapshot.
- `<key>`: the configuration's digest and the code version (the package's source files,
  Python's and the numerical libraries' versions).
- `<kind>-<scope>`: what was computed, and for whom (an entity, or the landlords of one
  currency an estimate pools).

A change to any of them reads another folder, so a result is never read for other data,
configuration or code; the folders of older snapshots are removed, and of the keys of the
current snapshot the four used last are kept. Entries are pickles of aggregate results
(estimates, balance tables, simulated draws of money values): an object holding a table
keyed by person or tenancy is refused (`ValueError`). Writes are atomic (a temporary file
renamed into place), and a process computing an entry holds a lock on it, so that two
report jobs needing it at once compute it once: the second waits, then reads it. Any
failure to read or write the cache only means computing again.

Deleting the folder is always safe. `INCREASE_EVAL_CACHE=off` computes everything anew
and writes nothing (benchmarks, debugging).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import pandas as pd

T = TypeVar("T")
ENV = "INCREASE_EVAL_CACHE"
KEEP_KEYS = 4                                   # key folders kept per snapshot, most recently used first
PERSON_LEVEL = frozenset({"person_id", "tenancy_id"})
LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "pyarrow")
STALE_TMP = 3600                                # seconds after which a temporary file is a dead writer's
_PRUNED: set[str] = set()                       # cache roots pruned by this process
_CODE: list[str] = []


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() not in ("off", "0", "no", "false")


def location(processed: Path | str) -> Path:
    """The cache of a processed folder: beside it, `<parent>/.cache/<its name>`."""
    processed = Path(processed).resolve()
    return processed.parent / ".cache" / processed.name


def hash_sources(h) -> None:
    """Feed the package's source files (each name and content, in name order) to hash `h`."""
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())


def code_version() -> str:
    """The package's source files, Python's version and the numerical libraries' versions."""
    if not _CODE:
        from importlib.metadata import PackageNotFoundError, version

        h = hashlib.sha256(sys.version.encode())
        for lib in LIBRARIES:
            try:
                h.update(f"{lib}={version(lib)}".encode())
            except PackageNotFoundError:
                pass
        hash_sources(h)
        _CODE.append(h.hexdigest()[:16])
    return _CODE[0]


def snapshot(processed: Path | str) -> str:
    """The processed data's snapshot: its id and the hash of its manifest."""
    import json

    raw = (Path(processed) / "manifest.json").read_bytes()
    return f"{json.loads(raw)['snapshot']}-{hashlib.sha256(raw).hexdigest()[:12]}"


def entry_folder(processed: Path | str, config) -> Path:
    key = hashlib.sha256(f"{config.digest()}:{code_version()}".encode()).hexdigest()[:16]
    return location(processed) / snapshot(processed) / key


def _name(kind: str, scope) -> str:
    scope = "+".join(scope) if isinstance(scope, (list, tuple)) else str(scope)
    name = f"{kind}-{scope}"
    safe = all(c.isalnum() or c in "-_+." for c in name)
    return name if safe and len(name) <= 120 else f"{kind}-{hashlib.sha256(scope.encode()).hexdigest()[:16]}"


def get(d, config, kind: str, scope, compute: Callable[[], T]) -> T:
    """The result of `compute()` for this dataset's snapshot (`d`: a data.Dataset loaded
    from a processed folder), the configuration, the code, `kind` and `scope`: read from
    the cache, or computed and written there. Without a folder to cache in, computed; a
    result holding a person-level table is refused whether the cache is on or off, so a
    notebook fails alike either way."""
    def computed() -> T:
        result = compute()
        aggregate_only(result, f"{kind}-{scope}")
        return result

    folder = getattr(d, "folder", None)
    if folder is None or not enabled():
        return computed()
    try:
        where = entry_folder(folder, config)
        where.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError, KeyError):
        return computed()
    path = where / f"{_name(kind, scope)}.pkl"
    found = _read(path)
    if found is not None:
        return found[0]
    with _locked(path.with_suffix(".lock")):
        found = _read(path)                       # another job may have made it while this one waited
        if found is not None:
            return found[0]
        result = computed()
        _write(path, result)
    _prune(location(folder), where)
    return result


def _read(path: Path):
    """(the cached result,) or None when there is none or it cannot be read."""
    try:
        with open(path, "rb") as fh:
            result = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:          # a truncated or foreign file: computed again and replaced
        return None
    with contextlib.suppress(OSError):
        os.utime(path.parent)             # used: kept by _prune
    return (result,)


def _write(path: Path, result) -> None:
    """Atomically: a reader sees the previous file, or none, or this one whole."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass                    # a cache that cannot be written is only a slower run
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on `path` (POSIX); released when the holder exits or dies."""
    try:
        import fcntl
    except ImportError:              # Windows: no lock; two jobs may compute the same entry
        yield
        return
    try:
        fh = open(path, "a+b")
    except OSError:
        yield
        return
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _prune(root: Path, current: Path) -> None:
    """Remove the folders of other snapshots, and the keys of this snapshot beyond the
    KEEP_KEYS used last; once per process and cache."""
    if str(current) in _PRUNED:
        return
    _PRUNED.add(str(current))
    try:
        for snap in root.iterdir():
            if snap.is_dir() and snap != current.parent:
                shutil.rmtree(snap, ignore_errors=True)
        keys = sorted((k for k in current.parent.iterdir() if k.is_dir() and k != current),
                      key=lambda k: k.stat().st_mtime, reverse=True)
        for stale in keys[KEEP_KEYS - 1:]:
            shutil.rmtree(stale, ignore_errors=True)
        for tmp in current.glob(".*.tmp"):         # left by a writer killed mid-write
            if time.time() - tmp.stat().st_mtime > STALE_TMP:
                tmp.unlink(missing_ok=True)
    except OSError:
        pass


def clear(processed: Path | str) -> None:
    """Remove a processed folder's cache."""
    shutil.rmtree(location(processed), ignore_errors=True)


def aggregate_only(obj, what: str = "result", _depth: int = 0) -> None:
    """Refuse to cache a table keyed by person or tenancy (a column, or an index level,
    named person_id or tenancy_id), wherever it sits in the result."""
    if _depth > 6 or obj is None or isinstance(obj, (str, bytes, int, float, bool, np.ndarray, np.generic)):
        return
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        names = set(obj.index.names) | ({obj.name} if isinstance(obj, pd.Series) else set(obj.columns))
        found = PERSON_LEVEL & {n for n in names if isinstance(n, str)}
        if found:
            raise ValueError(f"{what}: a table keyed by {', '.join(sorted(found))} is person-level data, never cached")
        return
    if isinstance(obj, dict):
        for v in obj.values():
            aggregate_only(v, what, _depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            aggregate_only(v, what, _depth + 1)
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            aggregate_only(getattr(obj, f.name), what, _depth + 1)
