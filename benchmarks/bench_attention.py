"""trace_attention vs the raw module forward: what do the explicit projections, scores and softmax cost?

L = S = 256 tokens, embed_dim 256, 8 heads, one thread. The raw forward gets the same masks and
returns weights (need_weights=True, its default), so both sides do the same job; the trace also
keeps every per-head tensor. Runs alternate, so both sides see the same machine load.
"""
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import report  # noqa: E402

from explorer import AdditiveAttention, trace_attention  # noqa: E402

torch.set_num_threads(1)
REPEAT = 15


def alternating_medians(module, args, trace_kw, raw_kw, repeat=REPEAT, warmup=3):
    """Median seconds of trace_attention and of the raw forward, run turn about."""
    traced, raw = [], []
    for i in range(warmup + repeat):
        t0 = time.perf_counter()
        trace_attention(module, *args, **trace_kw)
        t1 = time.perf_counter()
        with torch.no_grad():
            module(*args, **raw_kw)
        t2 = time.perf_counter()
        if i >= warmup:
            traced.append(t1 - t0)
            raw.append(t2 - t1)
    return statistics.median(traced), statistics.median(raw)


g = torch.Generator().manual_seed(0)
L = S = E = 256
mha = nn.MultiheadAttention(E, 8, batch_first=True).eval()
x = torch.randn(1, L, E, generator=g)
memory = torch.randn(1, S, E, generator=g)
causal = torch.ones(L, S, dtype=torch.bool).triu(1)
pad = torch.zeros(1, S, dtype=torch.bool)
pad[0, -32:] = True
bahdanau = AdditiveAttention(E, hidden_dim=64).eval()

cases = [
    ("MultiheadAttention(256, 8) self-attention, 256 tokens", mha, (x, x, x), {}, {}),
    ("... causal mask", mha, (x, x, x), dict(is_causal=True), dict(attn_mask=causal, is_causal=True)),
    ("... causal + key padding (32 pads)", mha, (x, x, x), dict(is_causal=True, key_padding_mask=pad),
     dict(attn_mask=causal, key_padding_mask=pad)),
    ("... cross-attention, 256 queries x 256 keys", mha, (x, memory, memory), {}, {}),
    ("AdditiveAttention(256, hidden 64), 256 x 256", bahdanau, (x, memory), {}, {}),
]
for name, module, args, trace_kw, raw_kw in cases:
    report(name, *alternating_medians(module, args, trace_kw, raw_kw))
