"""trace_norm vs the raw module forward: what does the explicit mean/var recomputation cost?

Train mode updates the running statistics in both; each run gets its own copy of the layer, made
outside the timed region, so every forward starts from the same buffers. Eval mode's raw forward is a
single fused pass, while the trace also reports the batch's own statistics and keeps x̂ and γ·x̂ + β
as separate tensors, so its ratio is the harder one.

Both the thread's CPU time and wall time are reported: on a shared machine the wall clock mostly
measures the neighbours, while CPU time measures the work.
"""
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402

from explorer.normalization import trace_norm  # noqa: E402

torch.set_num_threads(1)
REPEAT = 15


def alternating_medians(module, x, clock, repeat=REPEAT, warmup=2):
    """Median seconds of the raw forward and of trace_norm, run turn about so both see the same load."""
    raw, traced = [], []
    for i in range(warmup + repeat):
        a, b = copy.deepcopy(module), copy.deepcopy(module)
        t0 = clock()
        with torch.no_grad():
            a(x)
        t1 = clock()
        trace_norm(b, x)
        t2 = clock()
        if i >= warmup:
            raw.append(t1 - t0)
            traced.append(t2 - t1)
    return statistics.median(traced), statistics.median(raw)


g = torch.Generator().manual_seed(0)
cases = [
    ("BatchNorm2d(64) train, 32x64x56x56", nn.BatchNorm2d(64), torch.randn(32, 64, 56, 56, generator=g)),
    ("BatchNorm2d(64) eval, 32x64x56x56", nn.BatchNorm2d(64).eval(), torch.randn(32, 64, 56, 56, generator=g)),
]
for name, module, x in cases:
    report(f"{name} (CPU time)", *alternating_medians(module, x, time.thread_time))
    report(f"{name} (wall time)", *alternating_medians(module, x, time.perf_counter))
