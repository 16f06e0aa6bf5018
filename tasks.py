#!/usr/bin/env python3
"""The project's two commands, for a fresh machine with only Python 3.11+ and pip, and the
evaluator's JupyterLab after them.

    python3 tasks.py run    # set up, make synthetic data if data/raw has none, prepare, report
    python3 tasks.py test   # set up (Debian's chromium too, as root), run the whole test suite
    python3 tasks.py lab    # set up, open JupyterLab on notebooks/ with the project's kernel

Set-up creates (or reuses) a virtual environment in .venv and installs the project into
it; it re-installs only when pyproject.toml changed. It registers the Jupyter kernel
`increase-eval` in .venv (never in the user's home) and, in a clone of its own, the git
filter that strips notebook outputs before they are committed. Nothing here needs conda,
make or a browser; nothing depends on what was installed by hand.
"""

from __future__ import annotations

import hashlib
import json
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
KERNEL = "increase-eval"     # increase_eval/lab.py


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
    # an install with extras (`test`) holds the project's own dependencies too
    done = [stamp] + (sorted(VENV.glob(".installed-*")) if not extras else [])
    if not any(s.exists() and s.read_text() == want for s in done):
        sh(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        # pip compiles bytecode at install time, which keeps kernels and commands quick to start
        sh(PY, "-m", "pip", "install", "--quiet", "--compile", "-e", f".[{extras}]" if extras else ".")
        stamp.write_text(want)
    kernel()
    strip_filter()


def kernel() -> None:
    """Register the notebooks' kernel, `increase-eval`, in .venv/share/jupyter/kernels
    (idempotent): it runs .venv's Python whichever Jupyter opens the notebooks."""
    spec = VENV / "share" / "jupyter" / "kernels" / KERNEL / "kernel.json"
    try:
        if json.loads(spec.read_text(encoding="utf-8"))["argv"][0] == str(PY):
            return
    except (OSError, ValueError, KeyError, IndexError):
        pass
    sh(PY, "-m", "increase_eval.lab", "kernel")


def strip_filter(root: Path = ROOT) -> None:
    """Outputs never reach a commit: .gitattributes sends notebooks through the
    `nbstripout` filter, defined here in the clone's own .git/config (nbstripout
    --install, with cell ids kept). Left alone in a git worktree, whose configuration
    is shared with the main clone and other worktrees, and outside git; tests check
    committed notebooks all the same."""
    if not (root / ".git").is_dir() or not shutil.which("git"):
        return
    strip = f'"{PY.as_posix()}" -m nbstripout --keep-id'
    want = {"filter.nbstripout.clean": strip, "filter.nbstripout.smudge": "cat",
            "filter.nbstripout.required": "true", "diff.ipynb.textconv": f"{strip} -t"}
    for key, value in want.items():
        now = subprocess.run(["git", "config", "--local", "--get", key], cwd=root, capture_output=True, text=True)
        if now.stdout.strip() != value:
            subprocess.run(["git", "config", "--local", key, value], cwd=root, check=True)


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


def lab_command(lab_args: list[str], notebooks: Path = ROOT / "notebooks") -> tuple[list[str], dict]:
    """`jupyter lab` on `notebooks`, new notebooks in the project's kernel, and its
    environment: this environment's kernels found first, before any of the same name in
    the user's home, and .venv/bin on the PATH of Lab's terminals."""
    jupyter_path = os.pathsep.join(filter(None, [str(VENV / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")]))
    env = {**os.environ, "JUPYTER_PATH": jupyter_path, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    cmd = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={notebooks}",
           f"--MultiKernelManager.default_kernel_name={KERNEL}", *lab_args]
    if os.name == "posix" and os.geteuid() == 0:     # a container's root (CI's too): Jupyter refuses it unless told
        cmd.append("--allow-root")
    return cmd, env


def lab(lab_args: list[str]) -> int:
    """JupyterLab for the evaluator; extra arguments go to `jupyter lab` (e.g. --no-browser,
    --port 8890)."""
    setup()
    cmd, env = lab_command(lab_args)
    print("+", " ".join(cmd), flush=True)
    try:
        return subprocess.run(cmd, cwd=ROOT, env=env).returncode
    except KeyboardInterrupt:    # Ctrl-C: Jupyter has shut its kernels down
        return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "run":
        sys.exit(run())
    if command == "test":
        sys.exit(test(sys.argv[2:]))
    if command == "lab":
        sys.exit(lab(sys.argv[2:]))
    sys.exit(__doc__)
