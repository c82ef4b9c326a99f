"""Load test: many learners change controls on one `streamlit run`, against a trivial page as the floor.

Each virtual learner is a real Streamlit session driven through Streamlit's own agent protocol
(POST /_stcore/agent/interact): every request applies widget values exactly as a browser's rerun
does and returns when the script run has finished, so its latency is the server time of one
rerun as a learner waits for it (network and drawing excluded).

Two runs, each against Layer Lab and against a one-slider page served the same way:
  classroom   LEARNERS sessions, a random ~3 s pause between changes, moving through all pages
  saturation  the same sessions with no pause
Reported: p50/p95/max latency, reruns per second, errors, and server RSS before, at its peak
during, and after the sessions expire. Localhost only, bounded in count and time.

Usage: python benchmarks/load.py [--learners 20] [--classroom 120] [--saturation 45]
"""
import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from harness import start_streamlit  # noqa: E402

TRIVIAL_APP = '''import streamlit as st
st.slider("value", 0, 100, 50, key="v")
'''
SESSION_TTL = 20  # seconds an idle session lives; short so "after" memory is measured quickly


def start_server(script, port):
    return start_streamlit(script, port, "--server.enableAgentApi", "true", "--server.agentSessionTTL",
                           str(SESSION_TTL), "--server.agentWaitTimeout", "60")


def rss_mb(pid):
    """Resident memory of the server and its children (the training worker), in MB."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:   # a session's thread that has just ended
            continue
        total += sum(rss_mb(int(child)) for child in children)
    return total


def interact(url, body, timeout=120):
    req = urllib.request.Request(f"{url}/_stcore/agent/interact", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        snap = json.loads(r.read())
    return time.perf_counter() - t0, snap


def controls(snap):
    """(key, random legal value) choices from the widgets of the last run."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            kind, props = node.get("type"), node.get("props", {})
            k = None if props.get("disabled") else node.get("key")  # a disabled control takes nothing
            if k and kind in ("slider", "number_input") and isinstance(props.get("min_value"), (int, float)):
                lo, hi = props["min_value"], props["max_value"]
                if isinstance(lo, int) and isinstance(hi, int) and hi - lo < 10_000:
                    out.append((k, lambda lo=lo, hi=hi: random.randint(lo, hi)))
            elif k and kind in ("selectbox", "radio") and props.get("options"):
                opts = [o for o in props["options"] if o not in ("typed", "image")]
                if opts:
                    out.append((k, lambda opts=opts: random.choice(opts)))
            elif k and kind == "toggle" and k not in ("present",):
                out.append((k, lambda: random.random() < 0.5))
            for c in node.get("children", []):
                walk(c)
    walk(snap.get("tree", {}))
    return [(k, f) for k, f in out if k != "seed"]


class Learner(threading.Thread):
    def __init__(self, url, pages, until, pause, results):
        super().__init__(daemon=True)
        self.url, self.pages, self.until, self.pause, self.results = url, pages, until, pause, results

    def run(self):
        session = None
        page = random.choice(self.pages)
        snap = None
        while time.time() < self.until:
            try:
                if snap is None or random.random() < 0.15:   # now and then, move to another page
                    page = random.choice(self.pages)
                    body = {"page": page} if session is None else {"session_id": session, "page": page}
                else:
                    choices = controls(snap)
                    k, value = random.choice(choices)
                    body = {"session_id": session, "widget_state": {k: value()}}
                dt, snap = interact(self.url, body)
                session = snap.get("session_id", session)
                failed = snap.get("status") not in ("ready",)
                self.results.append((dt, failed, page))
            except Exception:  # noqa: BLE001  every failure counts as an error, the run goes on
                self.results.append((float("nan"), True, page))
                snap = None
            if self.pause:
                time.sleep(random.uniform(0.5 * self.pause, 1.5 * self.pause))


def run(url, pid, pages, learners, seconds, pause):
    results, peak = [], [0.0]
    until = time.time() + seconds
    threads = [Learner(url, pages, until, pause, results) for _ in range(learners)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], rss_mb(pid))
        time.sleep(0.5)
    lat = sorted(d for d, _, _ in results if d == d)
    errors = sum(1 for _, f, _ in results if f)
    by_page = {p: percentile([d for d, _, q in results if q == p and d == d], 95) for p in pages}
    return dict(n=len(results), p50=percentile(lat, 50), p95=percentile(lat, 95), max=lat[-1],
                rps=len(results) / seconds, errors=errors, peak_rss=peak[0], by_page=by_page)


def percentile(values, pct):
    values = sorted(values)
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--learners", type=int, default=20)
    ap.add_argument("--classroom", type=float, default=120)
    ap.add_argument("--saturation", type=float, default=45)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--pages", nargs="*", help="only these pages (default: all but home)")
    a = ap.parse_args()

    pages = a.pages or sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "home")
    with tempfile.TemporaryDirectory() as tmp:
        trivial = Path(tmp) / "trivial.py"
        trivial.write_text(TRIVIAL_APP)
        ours, our_url = start_server(ROOT / "app.py", a.port)
        floor, floor_url = start_server(trivial, a.port + 1)
        try:
            for page in pages:                         # as a teacher would before class: open each page
                interact(our_url, {"page": page})     # once, so imports, trained models and caches are warm
            interact(floor_url, {})
            before = rss_mb(ours.pid), rss_mb(floor.pid)
            rows = []
            for name, seconds, pause in (("classroom", a.classroom, 3.0), ("saturation", a.saturation, 0.0)):
                if seconds <= 0:
                    continue
                us = run(our_url, ours.pid, pages, a.learners, seconds, pause)
                base = run(floor_url, floor.pid, [""], a.learners, seconds, pause)
                rows.append((name, us, base))
            time.sleep(SESSION_TTL + 10)
            after = rss_mb(ours.pid), rss_mb(floor.pid)
        finally:
            for p in (ours, floor):
                p.terminate()
    print(f"{a.learners} learners, pages {', '.join(pages)}")
    for name, us, base in rows:
        print(f"{name}: Layer Lab p50 {us['p50'] * 1e3:.0f} ms, p95 {us['p95'] * 1e3:.0f} ms, "
              f"max {us['max'] * 1e3:.0f} ms, {us['rps']:.1f} reruns/s, {us['errors']} errors of {us['n']}, "
              f"peak RSS {us['peak_rss']:.0f} MB")
        print(f"{'':{len(name)}}  trivial page p50 {base['p50'] * 1e3:.0f} ms, p95 {base['p95'] * 1e3:.0f} ms, "
              f"max {base['max'] * 1e3:.0f} ms, {base['rps']:.1f} reruns/s, {base['errors']} errors of {base['n']}")
        print(f"{'':{len(name)}}  ratio to the floor: p50 {us['p50'] / base['p50']:.1f}x, "
              f"p95 {us['p95'] / base['p95']:.1f}x, throughput {us['rps'] / base['rps']:.2f}x")
        print(f"{'':{len(name)}}  p95 by page: " + ", ".join(f"{p} {v * 1e3:.0f} ms" for p, v in us["by_page"].items()))
    print(f"RSS Layer Lab: before {before[0]:.0f} MB, after sessions expired {after[0]:.0f} MB; "
          f"trivial page: before {before[1]:.0f} MB, after {after[1]:.0f} MB")


if __name__ == "__main__":
    main()
