"""A real `streamlit run` on a free localhost port, driven by Debian's Chromium through Playwright.

Every browser test (through conftest.py) gets `app` (the base URL) and `page` (a fresh Playwright page whose console
errors are collected in page.console_errors). Use `open_page` and `wait_idle` to sync with
Streamlit's reruns.
"""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(script, port, *options, output=subprocess.DEVNULL, env=None, timeout=90):
    """`streamlit run script` on 127.0.0.1:port, returned once its health check answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.fileWatcherType", "none", "--server.port", str(port), "--server.address", "127.0.0.1", *options],
        cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"streamlit did not start on port {port}")
        time.sleep(0.3)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


SERVER_LOG = ROOT / ".browser-test-server.log"   # what the `app` server prints


@pytest.fixture(scope="session")
def app():
    with open(SERVER_LOG, "w") as log:
        proc, url = start_streamlit("app.py", _free_port(), output=log)
        yield url
        stop(proc)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.console_errors = []

    def on_console(msg):
        # a deep link first probes <page>/_stcore/health and host-config (404) before the root ones
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            pg.console_errors.append(msg.text)

    def on_response(resp):
        if resp.status >= 400 and "/_stcore/" not in resp.url:
            pg.console_errors.append(f"{resp.status} {resp.url}")

    pg.on("console", on_console)
    pg.on("response", on_response)
    pg.on("pageerror", lambda e: pg.console_errors.append(f"page error: {e}"))
    yield pg
    context.close()


def wait_idle(pg, timeout=60_000):
    """Wait until Streamlit is connected and no script run is in progress."""
    pg.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    pg.wait_for_timeout(300)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def open_page(pg, url, chart_count=0, timeout=60_000):
    """Go to `url` and wait for the script to finish and at least `chart_count` Plotly charts to draw."""
    pg.goto(url, timeout=timeout)
    wait_idle(pg, timeout)
    if chart_count:  # and each of them drawn: a chart's div is in the page before Plotly has filled it
        pg.wait_for_function(f"""() => {{ const g = document.querySelectorAll('.js-plotly-plot');
                                        return g.length >= {chart_count} && Array.from(g).every(d => d._fullData); }}""",
                             timeout=timeout)
        wait_idle(pg, timeout)  # the first wait may have seen the page before its run began
    pg.wait_for_timeout(300)


def plot_data(pg, index=0):
    """The live `data` array of the index-th Plotly chart, as the browser currently holds it."""
    return pg.evaluate(
        """(i) => { const gd = document.querySelectorAll('.js-plotly-plot')[i];
                    // _fullData holds decoded arrays; data may still hold plotly's base64 form
                    return gd._fullData.map(d => ({name: d.name, type: d.type, x: Array.from(d.x || []),
                                                   y: Array.from(d.y || []), x0: d.x0, y0: d.y0,
                                                   z: d.z ? Array.from(d.z, r => Array.from(r)) : null})); }""",
        index)
