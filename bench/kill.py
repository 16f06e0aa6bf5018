#!/usr/bin/env python3
"""Count the processes of a run that outlive a SIGKILL of its top process (Linux).

    .venv/bin/python bench/kill.py [--scale 0.1] [--moments 3] [--seed 1] [--linger 0]

Makes synthetic exports in a temporary folder and prepares them once; then for each
command (`prepare`, and `report --landlord all archipel_habitat --force`) starts it from the command
line with a unique marker in its environment (every process it starts inherits it),
waits until it has started its workers (prepare) or a kernel (report), waits a seeded
random delay more, SIGKILLs the top process alone (not its group: that is the case that
leaks) and counts the processes still carrying the marker 2 s later, with their memory.
With --linger S the survivors are left up to S seconds more, then any still alive are
killed by PID; what was written in outputs/ after the kill (reports, state files, the
index) and empty failed/ folders are counted.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "increase_eval.cli"]


def marked(marker: str) -> dict[int, str]:
    """Live (not zombie) processes whose environment holds the marker: PID -> command line."""
    found = {}
    needle = f"INCREASE_EVAL_RUN={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state not in ("Z", "X"):
            found[int(entry.name)] = cmdline
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def trial(cmd: list[str], ready, delay: float, linger: float, outputs: Path) -> tuple[int, float, float, str]:
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "INCREASE_EVAL_RUN": marker})
    t0 = time.perf_counter()
    while proc.poll() is None and not ready(marked(marker), proc.pid) and time.perf_counter() - t0 < 120:
        time.sleep(0.05)
    time.sleep(delay)
    moment = time.perf_counter() - t0
    if proc.poll() is None:
        proc.kill()            # the top process only
    proc.wait()
    killed = time.time()
    time.sleep(2.0)
    survivors = marked(marker)
    memory = sum(rss_mb(p) for p in survivors)
    deadline = time.perf_counter() + linger
    while marked(marker) and time.perf_counter() < deadline:
        time.sleep(0.5)
    for pid in marked(marker):   # only the processes this run started
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    after = [p for p in outputs.rglob("*") if p.is_file() and p.stat().st_mtime > killed]
    published = (f"{sum(p.suffix == '.html' for p in after)} reports, {sum(p.name.startswith('.state') for p in after)}"
                 f" state files, {sum(p.name == 'index.html' for p in after)} index")
    empty = sum(1 for d in outputs.glob("*/failed") if not any(d.iterdir()))
    return len(survivors), memory, moment, f"{published}; {empty} empty failed/"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--moments", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--linger", type=float, default=0.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="increase-bench-kill-"))
    raw, processed, outputs, secret = work / "raw", work / "processed", work / "outputs", work / "secret.key"
    config = ["--config", str(ROOT / "config")]
    subprocess.run([*CLI, "synth", "--raw", str(raw), "--scale", str(args.scale), "--truth", str(work / "t.json"),
                    *config], check=True, capture_output=True, cwd=ROOT)
    prepare = [*CLI, "prepare", "--raw", str(raw), "--processed", str(processed), "--secret", str(secret), "--quiet",
               *config]
    subprocess.run(prepare, check=True, capture_output=True, cwd=ROOT)
    report = [*CLI, "report", "--processed", str(processed), "--outputs", str(outputs), "--landlord", "all",
              "archipel_habitat", "--force", *config]
    workers = lambda found, top: any(p != top for p in found)              # noqa: E731
    kernel = lambda found, top: any("ipykernel" in c for c in found.values())  # noqa: E731
    print("| command | killed at (s) | alive 2 s after the kill | their memory (MB) | written after the kill |")
    print("|---|---|---|---|---|")
    for name, cmd, ready, spread in (("prepare", prepare, workers, 0.3), ("report", report, kernel, 5.0)):
        for _ in range(args.moments):
            n, mb, moment, written = trial(cmd, ready, rng.uniform(0, spread), args.linger, outputs)
            print(f"| {name} | {moment:.1f} | {n} | {mb:.0f} | {written if name == 'report' else '-'} |", flush=True)
    print(f"(data in {work})")


if __name__ == "__main__":
    main()
