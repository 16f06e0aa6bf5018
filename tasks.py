#!/usr/bin/env python3
"""The project's two commands, for a fresh machine with only Python 3.11+ and pip.

    python3 tasks.py run    # set up, make synthetic data if data/raw has none, prepare, report
    python3 tasks.py test   # set up (Debian's chromium too, as root), run the whole test suite

Set-up creates (or reuses) a virtual environment in .venv and installs the project into
it; it re-installs only when pyproject.toml changed. Nothing here needs conda, make or a
browser; nothing depends on what was installed by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def sh(*args: str | Path, **kw) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kw)


def setup(extras: str = "") -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    if not PY.exists():
        print(f"creating virtual environment {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    stamp = VENV / f".installed{('-' + extras) if extras else ''}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    # pip compiles bytecode at install time, which keeps kernels and commands quick to start
    sh(PY, "-m", "pip", "install", "--quiet", "--compile", "-e", f".[{extras}]" if extras else ".")
    stamp.write_text(want)


def has_raw_data(raw: Path) -> bool:
    return raw.is_dir() and any(p.is_dir() and not p.name.startswith(".") for p in raw.iterdir())


def run() -> int:
    setup()
    raw = ROOT / "data" / "raw"
    if not has_raw_data(raw):
        sh(BIN / "increase-eval", "synth")
    prepared = subprocess.run([str(BIN / "increase-eval"), "prepare"], cwd=ROOT).returncode
    if prepared == 2:          # nothing could be prepared: no report to make
        return prepared
    reported = subprocess.run([str(BIN / "increase-eval"), "report"], cwd=ROOT).returncode
    return prepared or reported


def browser() -> None:
    """The browser tests drive Debian's headless Chromium (Playwright's own browser
    download cannot be used here). Installed when missing, if this is root with apt;
    otherwise the browser tests say what to install (and fail under CI)."""
    if shutil.which("chromium"):
        return
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "chromium", env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    else:
        print("chromium is not installed: the browser tests will be skipped (sudo apt-get install chromium)")


def test(pytest_args: list[str]) -> int:
    setup("test")
    browser()
    return subprocess.run([str(PY), "-m", "pytest", *pytest_args], cwd=ROOT).returncode


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "run":
        sys.exit(run())
    if command == "test":
        sys.exit(test(sys.argv[2:]))
    sys.exit(__doc__)
