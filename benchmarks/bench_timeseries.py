"""The time-series pipeline: trace_pipeline vs the model's raw forward, and what training costs.

trace_pipeline runs the model once and then recomputes every stage (explicit conv windows, a Python
loop over the LSTM's steps, the attention softmax, the head's dot products), so its ratio is the
price of seeing every number. Training is timed at the page's defaults (300 Adam steps, batch 32);
CPU time is printed next to wall time, because a busy machine inflates the wall clock.
"""
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, report  # noqa: E402

from explorer.figures import timeseries as figures  # noqa: E402
from explorer.timeseries import TimeSeriesModel, synthetic, trace_pipeline  # noqa: E402
from explorer.timeseries_training import TrainConfig, forecast, train  # noqa: E402

g = torch.Generator().manual_seed(0)
cases = [
    ("one window, T=24, hidden 8 (the page's default)", TimeSeriesModel(8, seed=0), torch.randn(1, 1, 24, generator=g)),
    ("one window, T=64, hidden 32", TimeSeriesModel(32, seed=0), torch.randn(1, 1, 64, generator=g)),
    ("136 windows, T=24, hidden 8", TimeSeriesModel(8, seed=0), torch.randn(136, 1, 24, generator=g)),
]
for name, model, x in cases:
    with torch.no_grad():
        raw = median_time(lambda: model(x), repeat=40)
    report(f"trace_pipeline, {name}", median_time(lambda: trace_pipeline(model, x), repeat=40), raw)

series = synthetic("sine", 160, seed=0)
for cfg in (TrainConfig(), TrainConfig(hidden=32, window=64, steps=300)):
    wall, cpu = time.perf_counter(), time.process_time()
    trained = train(series, cfg)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"training {cfg.steps} steps (window {cfg.window}, hidden {cfg.hidden}, batch {cfg.batch}): "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU, {cpu / cfg.steps * 1e3:.1f} ms CPU per step; "
          f"loss {trained.losses[0]:.3g} -> {trained.losses[-1]:.3g}")

trained = train(series, TrainConfig())
fc = forecast(trained, series)
print(f"forecast of all {len(fc.steps)} windows: {median_time(lambda: forecast(trained, series)) * 1e3:.2f} ms")
fig = figures.forecast(fc, series)
print(f"forecast figure ({len(fig.frames)} frames): build {median_time(lambda: figures.forecast(fc, series), repeat=5) * 1e3:.1f} ms, "
      f"to_dict (paid on every rerun) {median_time(fig.to_dict, repeat=5) * 1e3:.1f} ms, {len(fig.to_json()) / 1e3:.0f} KB")

# The page's default rerun with every cache warm, as benchmarks/rerun.py times it, with CPU time too:
# AppTest's own thread only sleeps while the script runs, so the process's CPU time is the script's.
from streamlit.testing.v1 import AppTest  # noqa: E402

at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "time_series.py"), default_timeout=300)
at.run()
walls, cpus = [], []
for _ in range(10):
    wall, cpu = time.perf_counter(), time.process_time()
    at.run()
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
walls.sort(), cpus.sort()
print(f"page rerun at defaults, caches warm: median {walls[5] * 1e3:.0f} ms wall, {cpus[5] * 1e3:.0f} ms CPU")
