"""The time-series model of the seed notebook, stage by stage, every stage a real module we trace.

    series [B, 1, T] -> Conv1d differentiator [1, 0, -1] (padding 1, no bias)   [B, 1, T]
                     -> permute to [T, B, 1] -> LSTM(1, H)                      [T, B, H], h_n [1, B, H]
                     -> additive (Bahdanau) attention: the last hidden state asks which
                        past steps matter: score_t = v^T tanh(W_q h_T + W_k o_t)  weights [B, 1, T]
                     -> context [B, H] -> Linear(H, 1): the next value          [B, 1]

The differentiator is fixed (it turns levels into trends); the LSTM, attention and head learn.
"""
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import ExplorerError

SERIES = ("sine", "trend + noise", "steps")


def synthetic(kind, length=120, seed=0):
    """A named synthetic series of `length` values, seeded."""
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
    return torch.tensor(y)


def normalise(series):
    """(scaled series, mean, std): the model learns on unit scale; the page shows original units."""
    if len(series) < 16:
        raise ExplorerError(f"The series has {len(series)} values; the model needs at least 16.")
    mean, std = float(series.mean()), float(series.std())
    return (series - mean) / (std or 1.0), mean, std or 1.0


def windows(series, window):
    """(inputs [N, 1, window], targets [N, 1]): each window of past values and the value after it."""
    if window + 1 > len(series):
        raise ExplorerError(f"A window of {window} needs more than {window} values; the series has {len(series)}.")
    x = series.unfold(0, window, 1)[:-1]                                       # (N, window)
    y = series[window:]                                                        # (N,)
    return x.unsqueeze(1).float(), y.unsqueeze(1).float()                      # (N, 1, W), (N, 1)


class TimeSeriesModel(nn.Module):
    """Conv1d differentiator -> LSTM -> additive attention -> Linear head, as in the seed notebook."""

    def __init__(self, hidden=16):
        from .attention import AdditiveAttention
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[[1.0, 0.0, -1.0]]]))
        self.conv.weight.requires_grad_(False)   # a fixed trend detector, not learned
        self.lstm = nn.LSTM(1, hidden)
        self.attention = AdditiveAttention(hidden)
        self.head = nn.Linear(hidden, 1)

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


def init_weights(model, seed):
    """Uniform init from a private Generator (the differentiator stays as it is)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                bound = 1 / np.sqrt(p.shape[-1]) if p.dim() > 1 else 0.1
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * bound)
    return model


@dataclass(frozen=True)
class Trained:
    """A trained model with its loss curve; never modified once made."""
    model: TimeSeriesModel
    losses: tuple           # training MSE every `log_every` steps
    log_every: int
    mean: float             # the series' scaling, to show predictions in original units
    std: float
    window: int


def train(series, window=24, hidden=16, steps=300, seed=0, lr=0.01, batch=32, progress=None, log_every=10):
    """Train on next-value prediction with Adam; deterministic for a seed.

    `progress(step, steps, loss)` is called every `log_every` steps.
    """
    scaled, mean, std = normalise(series)
    x, y = windows(scaled, window)
    model = init_weights(TimeSeriesModel(hidden), seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    g = torch.Generator().manual_seed(seed + 1)
    losses = []
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x), (min(batch, len(x)),), generator=g)
        loss = nn.functional.mse_loss(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % log_every == 0:
            losses.append(float(loss.detach()))
            if progress:
                progress(step, steps, losses[-1])
    model.eval()
    return Trained(model, tuple(losses), log_every, mean, std, window)


def predictions(trained, series):
    """(targets, predictions) in original units for every window of the series."""
    scaled = (series - trained.mean) / trained.std
    x, y = windows(scaled, trained.window)
    with torch.no_grad():
        p = trained.model(x)                                                   # (N, 1)
    return y[:, 0].double() * trained.std + trained.mean, p[:, 0].double() * trained.std + trained.mean


@dataclass(frozen=True)
class Pipeline:
    """One window through the model, each stage traced by its family's trace function."""
    x: torch.Tensor          # [1, 1, W] the scaled input window
    conv: object             # ConvTrace of the differentiator
    lstm: object             # RecurrentTrace of the LSTM on the permuted sequence
    attention: object        # AttentionTrace: the last hidden state attending over all outputs
    head: object             # LinearTrace of the prediction
    shapes: list             # (arrow label, shape) along the pipeline


def trace_pipeline(trained, window_values):
    """Trace every stage on one input window (values in original units), reusing trace_conv,
    trace_recurrent, trace_attention and trace_linear."""
    from .attention import trace_attention
    from .basic import trace_linear
    from .conv import trace_conv
    from .recurrent import trace_recurrent
    m = trained.model
    x = ((torch.as_tensor(window_values, dtype=torch.float64) - trained.mean) / trained.std).float()
    if x.dim() != 1 or len(x) != trained.window:
        raise ExplorerError(f"The model reads windows of {trained.window} values; got {tuple(x.shape)}.")
    x = x.view(1, 1, -1)                                                       # (1, 1, W)
    s = m.stages(x)
    conv = trace_conv(m.conv, x)
    lstm = trace_recurrent(m.lstm, s["seq"])
    att = trace_attention(m.attention, s["query"], s["keys"])
    head = trace_linear(m.head, s["context"][:, 0])
    shapes = [("input window [batch, channels, seq]", tuple(x.shape)),
              ("Conv1d differentiator", tuple(s["diff"].shape)),
              ("permute(2, 0, 1) -> [seq, batch, features]", tuple(s["seq"].shape)),
              ("LSTM outputs [seq, batch, hidden]", tuple(s["lstm_out"].shape)),
              ("h_n [layers, batch, hidden] -> query [batch, 1, hidden]", tuple(s["query"].shape)),
              ("attention weights [batch, 1, seq]", tuple(s["weights"].shape)),
              ("context [batch, 1, hidden]", tuple(s["context"].shape)),
              ("prediction [batch, 1]", tuple(s["prediction"].shape))]
    return Pipeline(x, conv, lstm, att, head, shapes)
