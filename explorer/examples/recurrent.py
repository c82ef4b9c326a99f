"""Sequences and seeded layers for the Recurrent page: presets, random inputs, typed series."""
import math
import re
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ExplorerError
from . import Mistake

PRESETS = ("sine wave", "step", "counting 1..10", "sentence")
SENTENCE = "the cat sat on the mat"
MAX_STEPS = 2000            # longer typed series make the step-by-step figures unreadable and slow
KINDS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


@dataclass(frozen=True)
class SequencePreset:
    """A named input sequence, one row per time step."""
    name: str
    x: torch.Tensor         # (T, F)
    labels: tuple           # one axis label per step: the word for the sentence, else the step index
    vocabulary: tuple       # the sentence's words in one-hot column order; () for numeric series


def input_preset(name, features=1, dtype=torch.float32):
    """A named sequence of shape (T, features); feature k is the series delayed by k steps.

    The sentence is one-hot: it has one feature per vocabulary word, whatever `features` says
    (sentence_input also embeds it).

    >>> input_preset("counting 1..10").x[:3, 0].tolist()
    [1.0, 2.0, 3.0]
    >>> input_preset("sentence").vocabulary
    ('cat', 'mat', 'on', 'sat', 'the')
    """
    if name == "sentence":
        return one_hot_sentence(SENTENCE, dtype=dtype)
    if name == "sine wave":
        series = [round(math.sin(2 * math.pi * t / 12), 3) for t in range(24)]
    elif name == "step":
        series = [0.0] * 5 + [1.0] * 7
    elif name == "counting 1..10":
        series = [float(v) for v in range(1, 11)]
    else:
        raise ExplorerError(f"There is no preset called {name!r}; choose one of {', '.join(PRESETS)}.")
    x = delayed_features(torch.tensor(series, dtype=dtype), features)      # (T, features)
    return SequencePreset(name, x, tuple(str(t) for t in range(len(series))), ())


def delayed_features(series, features):
    """A series (T,) as `features` columns (T, features): column k is the series k steps late,
    zero before it starts, so x_t holds the current value and the previous ones.

    >>> delayed_features(torch.tensor([1., 2., 3.]), 2).tolist()
    [[1.0, 0.0], [2.0, 1.0], [3.0, 2.0]]
    """
    T = series.shape[0]
    x = series.new_zeros(T, features)                                        # (T, features)
    for k in range(min(features, T)):
        x[k:, k] = series[:T - k]
    return x


def fit_features(x, features):
    """Typed or uploaded values (T, F) as the layer's input (T, features): a single column is
    spread into delayed copies; otherwise F must already be `features`."""
    if x.shape[1] == features:
        return x
    if x.shape[1] == 1:
        return delayed_features(x[:, 0], features)
    raise ExplorerError(f"Each line has {x.shape[1]} values but input_size is {features}: type one value "
                        f"per line (it is spread over the {features} features) or exactly {features} values "
                        "per line, or change input_size.")


def series_input(column, features, dtype=torch.float32, max_steps=MAX_STEPS):
    """An uploaded CSV column (T,) as the layer's input (T, features), refusing over-long series."""
    if column.shape[0] > max_steps:
        raise ExplorerError(f"That column has {column.shape[0]} values; the explorer takes at most {max_steps} "
                            "time steps. Upload a shorter series.")
    return delayed_features(column.to(dtype), features)


MAX_VOCABULARY = 64         # one-hot features; longer vocabularies should be embedded
MAX_WORDS = 200


def sentence_input(sentence=SENTENCE, encoding="one-hot", dim=4, seed=0, dtype=torch.float32):
    """Words as input vectors: one-hot over the sorted vocabulary (V features), or the rows of a
    seeded nn.Embedding(V, dim) (torch's own N(0, 1) init, drawn from a private generator).

    >>> sentence_input("b a b", "embedded", dim=3).x.shape
    torch.Size([3, 3])
    """
    words = tuple(sentence.lower().split())
    if not words:
        raise ExplorerError("The sentence is empty: type a few words separated by spaces.")
    if len(words) > MAX_WORDS:
        raise ExplorerError(f"The sentence has {len(words)} words; use at most {MAX_WORDS}.")
    if encoding == "one-hot":
        vocabulary = sorted(set(words))
        if len(vocabulary) > MAX_VOCABULARY:
            raise ExplorerError(f"The sentence has {len(vocabulary)} different words, too many one-hot "
                                f"features (at most {MAX_VOCABULARY}); choose the embedded encoding.")
        return one_hot_sentence(sentence, dtype=dtype)
    if encoding != "embedded":
        raise ExplorerError(f"Unknown encoding {encoding!r}; choose one-hot or embedded.")
    vocabulary = tuple(sorted(set(words)))
    table = nn.Embedding(len(vocabulary), dim, dtype=dtype, device="meta").to_empty(device="cpu")
    with torch.no_grad():
        table.weight.normal_(generator=torch.Generator().manual_seed(int(seed)))
        table.weight.copy_(torch.round(table.weight * 100) / 100)            # 2 decimals, readable
        x = table(torch.tensor([vocabulary.index(w) for w in words]))        # (T, dim)
    return SequencePreset("sentence", x, words, vocabulary)


def one_hot_sentence(sentence=SENTENCE, dtype=torch.float32):
    """Words as one-hot rows over the sorted vocabulary: 'the cat' -> [[0, 1], [1, 0]] for (cat, the)."""
    words = sentence.lower().split()
    if not words:
        raise ExplorerError("The sentence is empty: type a few words separated by spaces.")
    if len(words) > MAX_STEPS:
        raise ExplorerError(f"The sentence has {len(words)} words; use at most {MAX_STEPS}.")
    vocabulary = tuple(sorted(set(words)))
    index = torch.tensor([vocabulary.index(w) for w in words])               # (T,)
    x = torch.nn.functional.one_hot(index, len(vocabulary)).to(dtype)        # (T, V)
    return SequencePreset("sentence", x, tuple(words), vocabulary)


def random_input(shape, seed, dtype=torch.float32):
    """Seeded standard-normal input, rounded to 2 decimals so the math panel stays readable."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.round(torch.randn(shape, generator=g, dtype=torch.float64) * 100).div(100).to(dtype)


def random_input_code(shape, seed, dtype=torch.float32, batch_first=None):
    """Python source that rebuilds random_input(shape, seed, dtype), as one batch if batch_first is
    given (see batch_of_one)."""
    code = (f"torch.round(torch.randn({tuple(shape)}, generator=torch.Generator().manual_seed({int(seed)}), "
            f"dtype=torch.float64) * 100).div(100).to({dtype})")
    return code if batch_first is None else f"{code}.unsqueeze({0 if batch_first else 1})"


def make_recurrent(kind, input_size, hidden_size, *, num_layers=1, nonlinearity="tanh", bias=True,
                   batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                   dtype=torch.float32, seed=0):
    """A seeded nn.RNN / nn.LSTM / nn.GRU: torch's own init, U(-1/sqrt(H), 1/sqrt(H)), drawn from
    a torch.Generator so the same seed always gives the same weights (global RNG untouched).

    >>> make_recurrent("GRU", 3, 4, seed=7).weight_hh_l0.shape
    torch.Size([12, 4])
    """
    if kind not in KINDS:
        raise ExplorerError(f"Unknown recurrent layer {kind!r}; choose one of {', '.join(KINDS)}.")
    kwargs = dict(num_layers=num_layers, bias=bias, batch_first=batch_first, dropout=dropout,
                  bidirectional=bidirectional, dtype=dtype, device="meta")
    if kind == "RNN":
        kwargs["nonlinearity"] = nonlinearity
    if kind == "LSTM":
        kwargs["proj_size"] = proj_size
    elif proj_size:
        raise ExplorerError("Only an LSTM has proj_size; set it to 0 for an RNN or a GRU.")
    try:
        # built on the meta device: no memory and no draw from the global RNG until we fill it
        module = KINDS[kind](input_size, hidden_size, **kwargs).to_empty(device="cpu")
    except (ValueError, TypeError) as e:
        raise ExplorerError(f"These {kind} settings are not valid: {e}") from None
    g = torch.Generator().manual_seed(int(seed))
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-bound, bound, generator=g)
    return module


def random_state(module, batch=None, seed=0):
    """A seeded initial state hx for `module`: h_0, or (h_0, c_0) for an LSTM; batch=None: unbatched."""
    L = module.num_layers * (2 if module.bidirectional else 1)
    lead = (L,) if batch is None else (L, batch)
    dtype = next(module.parameters()).dtype
    g = torch.Generator().manual_seed(int(seed))
    h0 = torch.randn(lead + (module.proj_size or module.hidden_size,), generator=g, dtype=dtype)
    if isinstance(module, nn.LSTM):
        return h0, torch.randn(lead + (module.hidden_size,), generator=g, dtype=dtype)
    return h0


def parse_series(text, *, dtype=torch.float32, max_steps=MAX_STEPS):
    """Typed values or CSV text -> (T, F): one time step per line with F values each, or a single
    line of T values. A first line made only of words is taken as a CSV header and skipped.

    >>> parse_series("1, 2, 3").tolist()
    [[1.0], [2.0], [3.0]]
    >>> parse_series("a,b\\n1,2\\n3,4").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    rows = [_cells(line) for line in (text or "").splitlines()]
    rows = [r for r in rows if r]
    if rows and all(not _is_number(c) for c in rows[0]):
        rows = rows[1:]
    if not rows:
        raise ExplorerError("The series is empty: type numbers separated by commas, or one time step per line.")
    values = [[_number(c, i, j) for j, c in enumerate(r, 1)] for i, r in enumerate(rows, 1)]
    if len(values) == 1:
        values = [[v] for v in values[0]]
    widths = sorted({len(r) for r in values})
    if len(widths) > 1:
        raise ExplorerError(f"The lines of the series have different numbers of values ({widths}); "
                            "every time step needs the same number of features.")
    if len(values) > max_steps:
        raise ExplorerError(f"The series has {len(values)} time steps; use at most {max_steps}.")
    return torch.tensor(values, dtype=dtype)                                 # (T, F)


def format_series(x, digits=4):
    """The inverse of parse_series for a (T,) or (T, F) tensor: one time step per line."""
    x = x.detach().double()
    rows = x.view(-1, 1) if x.dim() == 1 else x
    return "\n".join(", ".join(f"{v:.{digits}g}" for v in r.tolist()) for r in rows)


def _cells(line):
    return [c for c in re.split(r"[,;\t ]+", line.strip().strip("[]")) if c]


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _number(cell, row, col):
    where = f"Line {row}, value {col}"
    if not _is_number(cell):
        raise ExplorerError(f"{where} of the series is {cell[:20]!r}, not a number.")
    v = float(cell)
    if not math.isfinite(v):
        raise ExplorerError(f"{where} of the series is {cell[:20]!r}; use finite numbers.")
    return v


def batch_of_one(x, batch_first):
    """One sequence (T, F) as a batch of one: (T, 1, F), or (1, T, F) with batch_first."""
    return x.unsqueeze(0) if batch_first else x.unsqueeze(1)


def mistakes():
    """The seed notes' claims about recurrent layers that go wrong, each with the real trace."""
    from ..recurrent import trace_recurrent
    lstm = make_recurrent("LSTM", 1, 3, seed=0).eval()
    x = input_preset("sine wave").x[:8]                                      # (8, 1)
    summary = Mistake(
        title="h_n is not a separate long-term summary: it is the output's last step",
        claim="“The LSTM returns two useful values, the output and h_n. The h_n vector acts as a summary of the "
              "entire sequence, i.e. the long term representation, whereas the output acts as an overall long "
              "and short term summary.”",
        what_goes_wrong="For one layer reading in one direction, h_n is exactly output[-1], the hidden state at "
                        "the last step, number for number. What an LSTM carries across many steps is its cell "
                        "state c_t; only its last value, c_n, is returned, and the output never shows it. With "
                        "several layers h_n holds the last state of every layer (output only the top one); with "
                        "bidirectional=True the backward half of h_n is the backward half of output[0].",
        trace=trace_recurrent(lstm, x),
        code="lstm = nn.LSTM(1, 3)\n"
             "x = torch.sin(2 * torch.pi * torch.arange(8.) / 12).view(8, 1)\n"
             "output, (h_n, c_n) = lstm(x)\n"
             "print(output[-1], h_n[0], torch.equal(output[-1], h_n[0]))  # the same numbers\n"
             "print(c_n[0])  # the long-term memory, which output does not contain")
    return [summary]
