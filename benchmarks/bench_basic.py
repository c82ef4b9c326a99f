"""trace_linear and trace_activation vs the raw module forward: what the recomputation costs."""
import sys
from pathlib import Path

import torch
from torch import nn

torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, report  # noqa: E402

from explorer.basic import trace_activation, trace_linear  # noqa: E402

g = torch.Generator().manual_seed(0)
linear, x = nn.Linear(1024, 1024), torch.randn(64, 1024, generator=g)
gelu, values = nn.GELU(), torch.randn(1_000_000, generator=g)
cases = [
    ("Linear(1024, 1024) on a batch of 64", lambda: trace_linear(linear, x), lambda: linear(x)),
    # the activation trace also differentiates through the module at every input and samples its curve
    ("GELU on 1M values", lambda: trace_activation(gelu, values), lambda: gelu(values)),
]
for name, trace, raw in cases:
    with torch.no_grad():
        raw_s = median_time(raw)
    report(name, median_time(trace), raw_s)
