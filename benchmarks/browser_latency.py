"""In a real browser: time from a slider change to the page's charts being redrawn, and the bytes
the server sends per rerun.

For every page of app.py, one control that changes a chart (CONTROLS: a slider moved one step,
alternately right and left, a toggle flipped, or a selectbox moved to its next option and back) is
changed CHANGES times. Each change is timed from the key press or click until a chart holds new
data and Streamlit reports the script finished; the websocket bytes received in between are
summed. Prints median and p95 per page, and as the platform's floor the same for a trivial page
served the same way in the same run: one slider and one small line chart that follows it.

Usage: python benchmarks/browser_latency.py [url_path ...]
"""
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from harness import ARGS, CHROMIUM, _free_port, start_streamlit, wait_idle  # noqa: E402

CHANGES = 20
# per page: (kind, label) of a control whose change redraws a chart, and the link's query (if any)
QUERY = {"building_blocks": "blocks.tab=Dropout"}
CONTROLS = {"convolution": ("slider", "kernel_size"), "pooling": ("slider", "kernel_size"),
            "recurrent": ("slider", "Weight scale"), "attention": ("toggle", "causal mask"),
            "normalization": ("slider", "spread (std)"), "building_blocks": ("slider", "p: chance of dropping each value"),
            "time_series": ("slider", "Prediction to trace (the step it predicts)"),
            "digits_cnn": ("slider", "Test image"), "minilm_attention": ("selectbox", "Head")}


FLOOR_APP = '''import streamlit as st
n = st.slider("points", 2, 100, 50)
st.plotly_chart({"data": [{"type": "scatter", "y": [(i * 7) % n for i in range(n)]}]}, theme=None)
'''


def pages():
    return re.findall(r'url_path="([^"]+)"', (ROOT / "app.py").read_text())


def change(pg, kind, label, i):
    """Change the control once; returns the time the change was made."""
    if kind == "slider":
        slider = pg.get_by_role("slider", name=label)
        slider.focus()
        t0 = time.perf_counter()
        slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
    elif kind == "toggle":
        box = pg.get_by_role("switch", name=label)
        t0 = time.perf_counter()
        box.click(force=True)
    else:
        box = pg.get_by_role("combobox", name=label)
        box.click()
        pg.keyboard.press("ArrowDown" if i % 2 == 0 else "ArrowUp")
        t0 = time.perf_counter()
        pg.keyboard.press("Enter")
    return t0


def measure(pg, url, kind, label):
    received = []
    pg.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(
        len(payload) if isinstance(payload, (bytes, str)) else 0)))
    pg.goto(url)
    wait_idle(pg, timeout=240_000)
    pg.wait_for_selector(".js-plotly-plot", timeout=240_000)
    pg.wait_for_timeout(1000)
    times, sizes = [], []
    for i in range(CHANGES):
        received.clear()
        pg.evaluate("() => { window.__before = Array.from(document.querySelectorAll('.js-plotly-plot'), g => g.data); }")
        t0 = change(pg, kind, label, i)
        # redrawn: some chart holds new data (react-plotly swaps gd.data when a figure changes)
        pg.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
                                  .some((g, i) => g.data !== window.__before[i])""", timeout=60_000)
        pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
        times.append(time.perf_counter() - t0)
        pg.wait_for_timeout(300)  # let the last websocket frames of this rerun arrive
        sizes.append(sum(received))
    return times, sizes


def report(name, kind, label, times, sizes, floor=None):
    q = statistics.quantiles(times, n=20)
    median = statistics.median(times)
    ratio = "" if floor is None else f" ({median / floor:.1f}x the floor)"
    print(f"{name} ({kind} '{label}'): change -> redrawn: median {median * 1e3:.0f} ms{ratio}, "
          f"p95 {q[18] * 1e3:.0f} ms (goals 300 / 600 ms); websocket per rerun: median "
          f"{statistics.median(sizes) / 1024:.0f} KB, max {max(sizes) / 1024:.0f} KB (goal < 500 KB)")
    return median


def main():
    names = sys.argv[1:] or pages()
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "floor.py"
        trivial.write_text(FLOOR_APP)
        floor_proc, floor_url = start_streamlit(trivial, _free_port())
        proc, url = start_streamlit("app.py", _free_port())
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                pg = browser.new_page(viewport={"width": 1400, "height": 1000})
                floor = report("floor", "slider", "points", *measure(pg, floor_url, "slider", "points"))
                pg.close()
                for name in names:
                    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
                    kind, label = CONTROLS[name]
                    query = f"?{QUERY[name]}" if name in QUERY else ""
                    report(name, kind, label, *measure(pg, f"{url}/{name}{query}", kind, label), floor)
                    pg.close()
                browser.close()
        finally:
            proc.terminate()
            floor_proc.terminate()


if __name__ == "__main__":
    main()
