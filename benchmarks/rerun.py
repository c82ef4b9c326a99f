"""Server time of one full rerun of each page at default settings, measured with AppTest.

Usage: python benchmarks/rerun.py [page ...]   (default: every page in pages/ except home)
Each page is run once to warm caches and imports, then a widget-free rerun is timed `REPEAT` times;
the figure is the median (what a learner waits for after a change that hits the cache).
A cold rerun is timed too, with the data caches cleared (what the first change of a setting costs)
and with every cache cleared (what the first visitor after a server start waits for: trained models
and the packaged transformer included).
"""
import statistics
import sys
import time
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REPEAT = 10


def time_page(name):
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=120)
    at.run()
    if at.exception:
        raise RuntimeError(f"{name}: {at.exception}")
    warm = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
    cold = []
    for _ in range(3):
        st.cache_data.clear()
        t0 = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - t0)
    st.cache_data.clear()
    st.cache_resource.clear()
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    return statistics.median(warm), statistics.median(cold), first


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "home")
    for name in names:
        warm, cold, first = time_page(name)
        print(f"{name}: rerun {warm * 1e3:.0f} ms cached (goal <= 150 ms), {cold * 1e3:.0f} ms with data "
              f"caches cleared, {first * 1e3:.0f} ms with every cache cleared")
