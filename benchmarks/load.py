"""Load test: many learners change controls on one `streamlit run`, against a trivial page as the floor.

Each virtual learner is a browser tab as the server sees it: a websocket speaking Streamlit's own
protocol (tests/browser/stream_session.py), sending every widget's value at each rerun as the browser does. A
rerun's latency is from the request until the server reports the run finished: what a learner
waits for, network and drawing excluded.

Two runs, each against Layer Lab and against a one-slider page served the same way:
  classroom   LEARNERS sessions, a random ~3 s pause between changes, moving through all pages
  saturation  the same sessions with no pause
Reported: p50/p95/max latency, reruns per second, errors, and server RSS before, at its peak
during, and after the sessions close. Localhost only, bounded in count and time.

Usage: python benchmarks/load.py [--learners 20] [--classroom 120] [--saturation 45]
"""
import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from harness import start_streamlit  # noqa: E402
from stream_session import StreamSession, random_change  # noqa: E402

TRIVIAL_APP = '''import streamlit as st
st.slider("value", 0, 100, 50, key="v")
'''
SESSION_TTL = 20  # seconds a closed tab's session lives; short so "after" memory is measured quickly


def start_server(script, port):
    return start_streamlit(script, port, "--server.disconnectedSessionTTL", str(SESSION_TTL))


def rss_mb(pid):
    """Resident memory of the server and its children (the training worker), in MB."""
    total = 0.0
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:   # a child that has just exited
        return 0.0
    for line in lines:
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:   # a session's thread that has just ended
            continue
        total += sum(rss_mb(int(child)) for child in children)
    return total


class Learner(threading.Thread):
    def __init__(self, url, pages, until, pause, results):
        super().__init__(daemon=True)
        self.url, self.pages, self.until, self.pause, self.results = url, pages, until, pause, results

    def run(self):
        session = None
        page = random.choice(self.pages)
        while time.time() < self.until:
            try:
                if session is None:
                    t0 = time.perf_counter()
                    session = StreamSession(self.url, page)
                    dt = time.perf_counter() - t0
                else:
                    widget, value = random_change(session)
                    if len(self.pages) > 1 and (widget is None or random.random() < 0.15):  # now and then, another page
                        page = random.choice(self.pages)
                        dt = session.goto(page)
                    else:
                        dt = session.change(widget, value)
                self.results.append((dt, False, page))
            except Exception as e:  # noqa: BLE001  every failure counts as an error; the tab reconnects
                self.results.append((float("nan"), f"{type(e).__name__}: {e}"[:200], page))
                if session is not None:
                    session.close()
                session = None
            if self.pause:
                time.sleep(random.uniform(0.5 * self.pause, 1.5 * self.pause))
        if session is not None:
            session.close()


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
    for message in sorted({f for _, f, _ in results if f})[:5]:
        print("error:", message)
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
                StreamSession(our_url, page).close()  # once, so imports, trained models and caches are warm
            StreamSession(floor_url, "").close()
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
