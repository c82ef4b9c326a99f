"""trace_recurrent vs the raw module forward on LSTM(32, 128), T=512, batch 1 (goal <= 5x).

The recomputation is a Python loop over time (the recurrence is sequential) against torch's fused
kernel, so this ratio is the price of seeing every gate at every step. Wall time is what a learner
waits for; CPU time of this process is printed too, as it moves less when other work shares the
machine. Last, the training demo's default run (300 steps) for each cell.
"""
import statistics
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, report  # noqa: E402

from explorer.examples.recurrent import make_recurrent, random_input  # noqa: E402
from explorer.recurrent import trace_recurrent  # noqa: E402
from explorer.recurrent_training import train_next_value  # noqa: E402


def cpu_time(fn, repeat=40):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


cases = [
    ("LSTM(32, 128), T=512, batch 1", make_recurrent("LSTM", 32, 128, seed=0), random_input((512, 1, 32), seed=1)),
    ("GRU(32, 128), T=512, batch 1", make_recurrent("GRU", 32, 128, seed=0), random_input((512, 1, 32), seed=1)),
    ("RNN(32, 128), T=512, batch 1", make_recurrent("RNN", 32, 128, seed=0), random_input((512, 1, 32), seed=1)),
]
for name, module, x in cases:
    with torch.no_grad():
        raw = median_time(lambda: module(x), repeat=40)
        raw_cpu = cpu_time(lambda: module(x))
    report(name, median_time(lambda: trace_recurrent(module, x), repeat=40), raw)
    trace_cpu = cpu_time(lambda: trace_recurrent(module, x))
    print(f"  CPU time: trace {trace_cpu * 1e3:.2f} ms, raw forward {raw_cpu * 1e3:.2f} ms, "
          f"ratio {trace_cpu / raw_cpu:.2f}x")
for kind in ("RNN", "LSTM", "GRU"):
    t0 = time.perf_counter()
    result = train_next_value(kind, 8, 300)
    print(f"training demo, {kind} with 8 units, 300 steps: {time.perf_counter() - t0:.2f} s "
          f"(loss {result.losses[0]:.3f} -> {result.losses[-1]:.4f})")
