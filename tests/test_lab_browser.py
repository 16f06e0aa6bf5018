"""A real JupyterLab, started as `python3 tasks.py lab` starts it, on a free port with a
token, driven in Debian's headless Chromium: 04_employment opens in the project's kernel,
runs every cell without an error and renders its tables and figures; the server then
stops and leaves no kernel behind."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from increase_eval import lab

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NOTEBOOK = "04_employment.ipynb"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is missing: .ci/run installs Debian's chromium package before the tests")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in args:
                found.append(args)
    return found


@pytest.fixture
def workbook(prepared, tmp_path) -> Path:
    """The repository's layout in small: notebooks/ beside data/processed (the synthetic
    data), so that the notebook runs with its default parameters, as an evaluator's does."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy2(ROOT / "notebooks" / NOTEBOOK, tmp_path / "notebooks" / NOTEBOOK)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "processed").symlink_to(prepared.processed)
    return tmp_path


def expected_outputs(workbook: Path) -> tuple[int, int]:
    """Tables and figures the notebook shows, run outside Lab on the same data."""
    nb = nbformat.read(workbook / "notebooks" / NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(workbook / "notebooks")}}).execute()
    shown = [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]
    return sum(h.count("report-table") for h in shown), sum(h.count("<figure>") for h in shown)


def test_04_employment_runs_in_a_real_lab_in_the_project_kernel(workbook, tmp_path):
    from playwright.sync_api import sync_playwright

    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    tables, figures = expected_outputs(workbook)
    assert tables >= 3 and figures >= 3
    port, token, runtime = free_port(), secrets.token_hex(16), tmp_path / "runtime"
    cmd, env = tasks.lab_command([
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
    ], notebooks=workbook / "notebooks")
    env |= {"JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(runtime)}
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "lab.log").read_text()[-2000:]
                time.sleep(0.5)
        else:
            raise AssertionError("JupyterLab did not answer: " + (tmp_path / "lab.log").read_text()[-2000:])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            elsewhere = []
            page.on("request", lambda r: elsewhere.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            session = "window.jupyterapp.shell.currentWidget.sessionContext"
            page.wait_for_function(f"window.jupyterapp && window.jupyterapp.shell.currentWidget && {session}"
                                   f" && {session}.session && {session}.session.kernel"
                                   f" && {session}.session.kernel.status === 'idle'", timeout=180_000)
            assert page.evaluate(f"{session}.session.kernel.name") == lab.KERNEL
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(f"""() => {{
                const cells = window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code');
                return cells.every(c => c.model.executionCount !== null) && {session}.session.kernel.status === 'idle'; }}""",
                                   timeout=600_000, polling=500)
            outputs = page.evaluate("""window.jupyterapp.shell.currentWidget.content.widgets
                .filter(c => c.model.type === 'code').flatMap(c => c.model.outputs.toJSON())""")
            assert [o for o in outputs if o["output_type"] == "error"] == []
            assert page.locator(".jp-OutputArea-output table.report-table").count() == tables
            assert page.locator(".jp-OutputArea-output figure img").count() == figures
            assert page.evaluate("Array.from(document.querySelectorAll('.jp-OutputArea-output figure img'))"
                                 ".every(i => i.complete && i.naturalWidth > 0)")
            assert page.locator(".jp-KernelName").first.inner_text() == lab.DISPLAY_NAME
            page.screenshot(path=str(tmp_path / "lab.png"))
            browser.close()
        sessions = json.loads(urllib.request.urlopen(f"{base}/api/sessions?token={token}").read())
        assert [s["kernel"]["name"] for s in sessions] == [lab.KERNEL]
        assert processes_mentioning(str(runtime)), "the kernel's process, named by its connection file"
        assert elsewhere == [], elsewhere        # Lab asks nothing of the network
        urllib.request.urlopen(urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST"))
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    for _ in range(20):             # kernels go with the server
        if not processes_mentioning(str(runtime)):
            break
        time.sleep(0.5)
    assert processes_mentioning(str(runtime)) == []
