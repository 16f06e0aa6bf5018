"""The project's Jupyter kernel: `increase-eval`, bound to the Python this package is
installed in, and registered in that environment's own `share/jupyter/kernels` (never the
user's home, where one clone's kernel would shadow another's).

Every notebook names it in its metadata, and reports run in it, so a notebook opened by a
Jupyter installed elsewhere (pipx, conda base) runs with the project's Python, or says
that the kernel is missing, instead of failing later with `No module named
'increase_eval'`. Such a Jupyter finds it when told where:
`JUPYTER_PATH=<repository>/.venv/share/jupyter jupyter lab`.

    python -m increase_eval.lab kernel     # register it (idempotent; tasks.py's set-up does)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KERNEL = "increase-eval"
DISPLAY_NAME = "Python (increase-eval)"


def data_dir(prefix: str | Path | None = None) -> Path:
    """The environment's Jupyter data folder (`<prefix>/share/jupyter`)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter"


def kernel_dir(prefix: str | Path | None = None) -> Path:
    return data_dir(prefix) / "kernels" / KERNEL


def registered(prefix: str | Path | None = None, python: str | None = None) -> bool:
    """Whether the kernel is registered in this environment and runs `python` (this one)."""
    try:
        spec = json.loads((kernel_dir(prefix) / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    argv = spec.get("argv") or [None]
    return argv[0] == (python or sys.executable)


def ensure_kernel(prefix: str | Path | None = None) -> bool:
    """Register the kernel when it is missing or runs another Python; True when it wrote it."""
    if registered(prefix):
        return False
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL, display_name=DISPLAY_NAME, prefix=str(prefix or sys.prefix))
    return True


def spec_manager():
    """A kernel spec manager that sees only this environment's kernels: a report never runs
    in a kernel of the same name that some other installation left in the user's home."""
    from jupyter_client.kernelspec import KernelSpecManager

    ensure_kernel()
    return KernelSpecManager(kernel_dirs=[str(data_dir() / "kernels")])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["kernel"]:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    if ensure_kernel():
        print(f"registered the Jupyter kernel '{KERNEL}' in {kernel_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
