"""The time-series model of the seed notebook, stage by stage, every stage a real module we trace.

    window x [B, 1, T] -> Conv1d, fixed kernel [1, 0, -1], padding 1, no bias      d [B, 1, T]
                          d_t = x_(t-1) - x_(t+1)   (cross-correlation: the kernel is not flipped)
                       -> permute(2, 0, 1) to [seq, batch, features]               [T, B, 1]
                       -> LSTM(1, H): outputs h_1..h_T, final state h_n            [T, B, H], [1, B, H]
                       -> additive (Bahdanau) attention: the last hidden state asks which past
                          steps matter, score_t = v^T tanh(W_q h_T + W_k h_t)      weights [B, 1, T]
                       -> context = sum_t weights_t h_t                            [B, 1, H]
                       -> Linear(H, 1): the next value                             [B, 1]

The differentiator is fixed (it turns levels into changes); the LSTM, attention and head learn
(see timeseries_training.py). `trace_pipeline` traces every stage with the trace function of its
own family (trace_conv, trace_recurrent, trace_attention, trace_linear), feeding each stage our
recomputation of the stage before, so the end-to-end `manual` never touches a module's forward.
"""
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .attention import AdditiveAttention, trace_attention
from .basic import trace_linear
from .conv import trace_conv
from .errors import ExplorerError
from .recurrent import trace_recurrent
from .threads import one_thread
from .validate import max_abs_error, require_dtype_match, require_module, require_tensor

SERIES = ("sine", "trend + noise", "steps")
DIFFERENTIATOR = (1.0, 0.0, -1.0)
MIN_LENGTH, MAX_LENGTH = 16, 5000


def synthetic(kind, length=160, seed=0):
    """A named synthetic series of `length` values (float64), seeded through a numpy Generator.

    sine: period 24 plus a little noise; trend + noise: a rising line with a ripple and noise;
    steps: a random level held for 10 steps at a time.

    >>> synthetic("steps", 30, seed=1).shape
    torch.Size([30])
    """
    if not isinstance(length, int) or not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ExplorerError(f"A synthetic series needs between {MIN_LENGTH} and {MAX_LENGTH} values; got {length}.")
    g = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    if kind == "sine":
        y = np.sin(2 * np.pi * t / 24) + 0.05 * g.standard_normal(length)
    elif kind == "trend + noise":
        y = 0.02 * t + 0.3 * np.sin(2 * np.pi * t / 12) + 0.1 * g.standard_normal(length)
    elif kind == "steps":
        y = np.repeat(g.integers(-2, 3, size=length // 10 + 1), 10)[:length].astype(np.float64)
        y += 0.05 * g.standard_normal(length)
    else:
        raise ExplorerError(f"Unknown series {kind!r}; choose one of {', '.join(SERIES)}.")
    return torch.from_numpy(y)


@dataclass(frozen=True)
class Scaling:
    """z = (value - mean) / std: the model works on unit scale, the page shows original units."""
    mean: float
    std: float

    def scale(self, values):
        return (values - self.mean) / self.std

    def unscale(self, z):
        return z * self.std + self.mean


def scaling_of(series):
    """The Scaling of a 1-D series (population std; a constant series keeps std 1)."""
    series = torch.as_tensor(series)
    if series.dim() != 1:
        raise ExplorerError(f"A series is one column of numbers; got shape {tuple(series.shape)}.")
    if len(series) < MIN_LENGTH:
        raise ExplorerError(f"The series has {len(series)} values; the model needs at least {MIN_LENGTH}.")
    if not bool(torch.isfinite(series).all()):
        raise ExplorerError("The series contains NaN or infinity; every value must be a finite number.")
    s = series.double()
    mean, std = float(s.mean()), float(s.std(unbiased=False))
    if not (math.isfinite(mean) and math.isfinite(std)):
        raise ExplorerError("The values are too large to scale (their spread overflows); divide the column "
                            "by a power of ten first.")
    return Scaling(mean, std if std > 0 else 1.0)


def windows(scaled, window):
    """(inputs [N, 1, window], targets [N, 1]) float32: every run of `window` values and the one after.

    >>> x, y = windows(torch.arange(6.0), 4)
    >>> x[:, 0].tolist(), y[:, 0].tolist()
    ([[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]], [4.0, 5.0])
    """
    scaled = torch.as_tensor(scaled)
    if window < 2:
        raise ExplorerError(f"The window must hold at least 2 values; got {window}.")
    if window + 1 > len(scaled):
        raise ExplorerError(f"A window of {window} needs more than {window} values; the series has {len(scaled)}.")
    x = scaled.unfold(0, window, 1)[:-1]                                       # (N, W)
    y = scaled[window:]                                                        # (N,)
    return x.unsqueeze(1).float(), y.unsqueeze(1).float()                      # (N, 1, W), (N, 1)


class TimeSeriesModel(nn.Module):
    """Conv1d differentiator -> LSTM -> additive attention -> Linear head, as in the seed notebook.

    Built on the meta device and filled from a private torch.Generator: the same seed gives the same
    weights, and the global random state is never touched. The init is torch's own default:
    U(-1/sqrt(H), 1/sqrt(H)) for the LSTM, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for each Linear.

    >>> m = TimeSeriesModel(hidden=4, seed=0)
    >>> m(torch.zeros(2, 1, 10)).shape
    torch.Size([2, 1])
    """

    def __init__(self, hidden=8, seed=0, dtype=torch.float32):
        super().__init__()
        if not isinstance(hidden, int) or hidden < 1:
            raise ExplorerError(f"The hidden size must be a positive whole number; got {hidden!r}.")
        self.hidden = hidden
        with torch.device("meta"):
            self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False, dtype=dtype)
            self.lstm = nn.LSTM(1, hidden, dtype=dtype)
            self.attention = AdditiveAttention(hidden, dtype=dtype)
            self.head = nn.Linear(hidden, 1, dtype=dtype)
        self.to_empty(device="cpu")
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor(DIFFERENTIATOR, dtype=dtype).view(1, 1, 3))
            for p in self.lstm.parameters():
                p.uniform_(-1 / math.sqrt(hidden), 1 / math.sqrt(hidden), generator=g)
            for lin in (self.attention.w_q, self.attention.w_k, self.attention.v, self.head):
                bound = 1 / math.sqrt(lin.in_features)
                for p in lin.parameters():
                    p.uniform_(-bound, bound, generator=g)
        self.conv.weight.requires_grad_(False)   # a fixed trend detector, not learned

    def stages(self, x):
        """Every intermediate tensor, named, for x of shape [B, 1, T]."""
        diff = self.conv(x)                                                    # (B, 1, T)
        seq = diff.permute(2, 0, 1)                                            # (T, B, 1)
        out, (h_n, c_n) = self.lstm(seq)                                       # (T, B, H), (1, B, H)
        keys = out.permute(1, 0, 2)                                            # (B, T, H)
        query = h_n[-1].unsqueeze(1)                                           # (B, 1, H)
        context, weights = self.attention(query, keys)                         # (B, 1, H), (B, 1, T)
        pred = self.head(context[:, 0])                                        # (B, 1)
        return dict(diff=diff, seq=seq, lstm_out=out, h_n=h_n, c_n=c_n, keys=keys, query=query,
                    context=context, weights=weights, prediction=pred)

    def forward(self, x):
        return self.stages(x)["prediction"]


def parameter_counts(model):
    """(stage, learned parameters, fixed parameters) for each module of the model; the Conv1d's
    kernel is fixed by design, whatever requires_grad says after training."""
    return [(name, 0 if name == "conv" else n, n if name == "conv" else 0)
            for name, n in ((name, sum(p.numel() for p in getattr(model, name).parameters()))
                            for name in ("conv", "lstm", "attention", "head"))]


@dataclass(frozen=True)
class Arrow:
    """One hop of the pipeline: the operation and the shape of what it hands on."""
    name: str        # the tensor's name on the page
    op: str          # what makes it
    layout: str      # what the dims mean
    shape: tuple


@dataclass(frozen=True)
class PipelineTrace:
    """One batch of windows through the model, every stage traced by its own family's trace."""
    module: TimeSeriesModel
    x: torch.Tensor          # (B, 1, T) the input windows, scaled
    stages: dict             # model.stages(x): every tensor of the modules' own forwards, chained
    output: torch.Tensor     # (B, 1) model(x), the last of those
    manual: torch.Tensor     # (B, 1) the same from our recomputations only, each fed the one before
    max_abs_error: float
    conv: object             # ConvTrace of the differentiator on x
    lstm: object             # RecurrentTrace of the LSTM on conv.manual permuted to (T, B, 1)
    attention: object        # AttentionTrace: our h_T attending over our h_1..h_T
    head: object             # LinearTrace of the head on our context vector
    arrows: tuple            # Arrow per hop, input to prediction

    @property
    def batch(self):
        return self.x.shape[0]

    @property
    def steps(self):
        return self.x.shape[2]

    @property
    def traces(self):
        """(stage title, trace) of every traced stage, in pipeline order."""
        return (("Conv1d differentiator", self.conv), ("LSTM", self.lstm),
                ("additive attention", self.attention), ("Linear head", self.head))

    def weights(self, b=0):
        """(T,) the attention weight on each step of window b (our softmax; rows sum to 1)."""
        return self.attention.weights[b, 0, 0]

    def context(self, b=0):
        """(H,) window b's context vector, sum_t weights_t h_t (our recomputation)."""
        return self.attention.manual[b, 0]

    def softmax_step(self, b, k):
        """How window b's weight on step k comes out of the scores, as the math panel shows it."""
        if not 0 <= b < self.batch or not 0 <= k < self.steps:
            raise ExplorerError(f"Window {b}, step {k} is out of range: there are {self.batch} window(s) of "
                                f"{self.steps} steps.")
        scores = self.attention.scores[b, 0, 0]                                # (T,)
        shifted = torch.exp(scores - scores.max())                             # (T,) the largest is exp(0) = 1
        total = float(shifted.sum())
        return SoftmaxStep(scores=scores, shifted_exp=shifted, total=total, weight=float(shifted[k]) / total)


@dataclass(frozen=True)
class SoftmaxStep:
    """weight_k = exp(s_k - max s) / sum_j exp(s_j - max s), with every number of it."""
    scores: torch.Tensor       # (T,) s_j = v^T tanh(W_q query + W_k h_j)
    shifted_exp: torch.Tensor  # (T,) exp(s_j - max s)
    total: float               # sum_j exp(s_j - max s)
    weight: float              # shifted_exp[k] / total


def trace_pipeline(model, x):
    """Run a window batch through a TimeSeriesModel and trace each stage with its family's trace.

        d = conv(x), seq = d.permute(2, 0, 1), (h_1..h_T, h_n) = lstm(seq),
        context, weights = attention(h_n[-1], h_1..h_T), prediction = head(context)

    Args:
        model: a TimeSeriesModel (any weights; not modified).
        x: float tensor (B, 1, T) of scaled values, in the model's dtype, T >= 2.

    Shape:
        output and manual (B, 1); conv traces (B, 1, T); lstm (T, B, 1) -> (T, B, H);
        attention query (B, 1, H), keys (B, T, H), weights (B, 1, 1, T) per head.

    Returns:
        PipelineTrace; `max_abs_error` compares the chained modules with the chained recomputations.

    >>> t = trace_pipeline(TimeSeriesModel(hidden=4), torch.randn(3, 1, 12))
    >>> t.output.shape, [a.shape for a in t.arrows][2]
    (torch.Size([3, 1]), (12, 3, 1))
    """
    require_module(model, (TimeSeriesModel,), "trace_pipeline")
    require_tensor(x, "input window")
    if x.dim() != 3 or x.shape[1] != 1:
        raise ExplorerError(f"The windows have shape {tuple(x.shape)} but the model reads [batch, 1, seq]: "
                            "one channel of values per window.")
    if x.shape[0] < 1 or x.shape[2] < 2:
        raise ExplorerError(f"The windows have shape {tuple(x.shape)}; give at least one window of 2 values.")
    require_dtype_match(model, x)
    B, _, T = x.shape
    H = model.hidden
    with one_thread():
        with torch.no_grad():
            stages = model.stages(x)
        output = stages["prediction"]                                          # (B, 1)
        conv = trace_conv(model.conv, x)                                       # (B, 1, T)
        seq = conv.manual.permute(2, 0, 1)                                     # (T, B, 1)
        lstm = trace_recurrent(model.lstm, seq)                                # (T, B, H)
        keys = lstm.manual.permute(1, 0, 2)                                    # (B, T, H)
        query = lstm.hidden[-1, 0, -1].unsqueeze(1)                            # (B, 1, H) our h_T
        att = trace_attention(model.attention, query, keys)                    # (B, 1, H)
        head = trace_linear(model.head, att.manual[:, 0])                      # (B, 1)
    arrows = (Arrow("x", "input windows", "[batch, channels, seq]", (B, 1, T)),
              Arrow("d", "Conv1d(1, 1, 3, padding=1), kernel [1, 0, -1]", "[batch, channels, seq]", (B, 1, T)),
              Arrow("seq", "d.permute(2, 0, 1)", "[seq, batch, features]", (T, B, 1)),
              Arrow("out", f"LSTM(1, {H}): h_1 .. h_T", "[seq, batch, hidden]", (T, B, H)),
              Arrow("h_n", "LSTM final state h_T", "[layers, batch, hidden]", (1, B, H)),
              Arrow("keys", "out.permute(1, 0, 2)", "[batch, seq, hidden]", (B, T, H)),
              Arrow("query", "h_n[-1].unsqueeze(1)", "[batch, 1, hidden]", (B, 1, H)),
              Arrow("weights", "softmax_t(v^T tanh(W_q query + W_k keys_t))", "[batch, 1, seq]", (B, 1, T)),
              Arrow("context", "weights @ keys", "[batch, 1, hidden]", (B, 1, H)),
              Arrow("prediction", f"Linear({H}, 1) of context[:, 0]", "[batch, 1]", (B, 1)))
    return PipelineTrace(module=model, x=x, stages=stages, output=output, manual=head.manual,
                         max_abs_error=max_abs_error(output, head.manual), conv=conv, lstm=lstm,
                         attention=att, head=head, arrows=arrows)
