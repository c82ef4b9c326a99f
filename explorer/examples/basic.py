"""Presets, seeded layers and typed values for the building blocks, and the notes' dropout example.

A seeded layer is built as usual, then every parameter is overwritten with numbers drawn from a
torch.Generator(seed): the layer depends on the seed alone.
"""
import math
import re

import torch
from torch import nn

from ..basic import trace_dropout
from ..errors import ExplorerError
from . import Confirmed
from .parse import parse_grid

MAX_FEATURES = 1024
MAX_VOCAB = 10_000


# -- typed values ---------------------------------------------------------------------------------

MAX_TYPED = 1e6    # typed values beyond this only show float overflow (GELU's float32 kernel overflows at 3e38)


def parse_values(text, *, name="input", limit=MAX_TYPED):
    """Numbers split by commas or spaces -> a 1D tensor; several lines (or ';') -> 2D, one row each.

    Each value must lie within ±limit.

    >>> parse_values("1, 2, 3").tolist()
    [1.0, 2.0, 3.0]
    """
    grid = parse_grid(text, name=f"{name} values")                          # (rows, cols)
    big = grid.abs() > limit
    if bool(big.any()):
        r, c = (int(i) for i in big.nonzero()[0])
        raise ExplorerError(f"Row {r + 1}, item {c + 1} of the {name} values is {float(grid[r, c]):g}: "
                            f"type numbers between {-limit:g} and {limit:g}.")
    return grid[0] if grid.shape[0] == 1 else grid


def parse_ids(text, num_embeddings, *, vocab=None):
    """Token ids (whole numbers) or words of `vocab`, split by commas or spaces -> int64 tensor.

    >>> parse_ids("the cat 0", 10, vocab=VOCAB).tolist()
    [1, 2, 0]
    """
    items = [w for w in re.split(r"[,\s]+", (text or "").strip().strip("[]")) if w]
    if not items:
        raise ExplorerError("The token ids are empty: type whole numbers (or words) separated by commas or spaces.")
    ids = []
    for k, item in enumerate(items, 1):
        if vocab is not None and item in vocab:
            ids.append(vocab.index(item))
            continue
        try:
            v = float(item)
        except ValueError:
            known = f" or a word of the vocabulary ({', '.join(vocab)})" if vocab is not None else ""
            raise ExplorerError(f"Item {k} is {item[:20]!r}: not a token id{known}.") from None
        if not v.is_integer():
            raise ExplorerError(f"Item {k} is {item[:20]!r}: token ids are whole numbers.")
        if not 0 <= v < num_embeddings:
            raise ExplorerError(f"Token id {int(v)} is out of range: the table has {num_embeddings} rows, "
                                f"ids 0 to {num_embeddings - 1}.")
        ids.append(int(v))
    return torch.tensor(ids, dtype=torch.long)


def random_values(shape, seed, dtype=torch.float64, scale=1.0):
    """Seeded normal values with standard deviation `scale`, rounded to 2 decimals so the math
    panel stays readable."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.round(torch.randn(shape, generator=g, dtype=dtype) * scale * 100) / 100


# -- seeded layers --------------------------------------------------------------------------------

def seeded_linear(in_features, out_features, *, bias=True, seed=0, dtype=torch.float64):
    """nn.Linear with W and b uniform in ±1/√in_features (torch's default range) from the seed,
    rounded to 2 decimals.

    >>> seeded_linear(3, 2, seed=1).weight.shape
    torch.Size([2, 3])
    """
    _check_sizes(in_features=in_features, out_features=out_features)
    m = nn.Linear(in_features, out_features, bias=bias, dtype=dtype)
    return _fill_uniform(m, 1 / math.sqrt(in_features), seed)


def seeded_bilinear(in1_features, in2_features, out_features, *, bias=True, seed=0, dtype=torch.float64):
    """nn.Bilinear with A and b uniform in ±1/√in1_features (torch's default range) from the seed."""
    _check_sizes(in1_features=in1_features, in2_features=in2_features, out_features=out_features)
    m = nn.Bilinear(in1_features, in2_features, out_features, bias=bias, dtype=dtype)
    return _fill_uniform(m, 1 / math.sqrt(in1_features), seed)


def seeded_embedding(num_embeddings, embedding_dim, *, padding_idx=None, max_norm=None, norm_type=2.0, seed=0,
                     dtype=torch.float64):
    """nn.Embedding with N(0, 1) rows (torch's default) from the seed, rounded to 2 decimals; the
    padding row is zeros, as torch builds it."""
    _check_sizes(num_embeddings=num_embeddings, embedding_dim=embedding_dim)
    if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
        raise ExplorerError(f"padding_idx {padding_idx} is not a row of a table with {num_embeddings} rows.")
    if max_norm is not None and not max_norm > 0:
        raise ExplorerError(f"max_norm must be a positive number; got {max_norm!r}.")
    m = nn.Embedding(num_embeddings, embedding_dim, padding_idx=padding_idx, max_norm=max_norm,
                     norm_type=norm_type, dtype=dtype)
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        m.weight.copy_(torch.round(torch.randn(m.weight.shape, generator=g, dtype=dtype) * 100) / 100)
        if m.padding_idx is not None:
            m.weight[m.padding_idx].zero_()
    return m


def dropout_layer(p, *, training=True):
    """nn.Dropout(p) in train or eval mode."""
    try:
        return nn.Dropout(p).train(training)
    except (ValueError, TypeError):
        raise ExplorerError(f"The dropout probability p is {p!r}; it must be between 0 and 1.") from None


ACTIVATIONS = ("ReLU", "LeakyReLU", "ELU", "GELU", "GELU (tanh)", "SiLU", "Sigmoid", "Tanh", "Softplus", "Softmax")


def activation_layer(name, *, negative_slope=0.01, alpha=1.0, beta=1.0, threshold=20.0, dim=-1):
    """The activation called `name` (one of ACTIVATIONS), with the settings it takes.

    >>> activation_layer("LeakyReLU", negative_slope=0.2)
    LeakyReLU(negative_slope=0.2)
    """
    builders = {
        "ReLU": nn.ReLU, "SiLU": nn.SiLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh,
        "LeakyReLU": lambda: nn.LeakyReLU(negative_slope),
        "ELU": lambda: nn.ELU(alpha),
        "GELU": lambda: nn.GELU(approximate="none"),
        "GELU (tanh)": lambda: nn.GELU(approximate="tanh"),
        "Softplus": lambda: nn.Softplus(beta, threshold),
        "Softmax": lambda: nn.Softmax(dim=dim),
    }
    if name not in builders:
        raise ExplorerError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}.")
    return builders[name]()


def _fill_uniform(m, bound, seed):
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for p in m.parameters():
            u = (torch.rand(p.shape, generator=g, dtype=p.dtype) * 2 - 1) * bound
            p.copy_(torch.round(u * 100) / 100)
    return m


def _check_sizes(**sizes):
    for name, v in sizes.items():
        cap = MAX_VOCAB if name == "num_embeddings" else MAX_FEATURES
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= cap:
            raise ExplorerError(f"{name} must be a whole number from 1 to {cap}; got {v!r}.")


# -- presets --------------------------------------------------------------------------------------

LINEAR_PRESETS = ("hand example 2→2", "average of 3", "rotate 90°", "mix 3→2", "bilinear dot product")


def linear_preset(name, dtype=torch.float64):
    """A named small layer and its input: (module, inputs), inputs a tuple (x,) or (x1, x2) for Bilinear.

    "hand example 2→2": W = [[1, 2], [3, 4]], b = [1, −1], x = [1, 1] gives [4, 6].
    """
    table = {
        "hand example 2→2": ([[1, 2], [3, 4]], [1, -1], ([1, 1],)),
        "average of 3": ([[1 / 3, 1 / 3, 1 / 3]], None, ([3, 6, 9],)),
        "rotate 90°": ([[0, -1], [1, 0]], None, ([1, 0],)),
        "mix 3→2": ([[1, 0, -1], [0.5, 0.5, 0]], [0, 1], ([2, 4, 1],)),
        "bilinear dot product": ([[[1, 0], [0, 1]]], None, ([1, 2], [3, 4])),
    }
    if name not in table:
        raise ExplorerError(f"Unknown preset {name!r}; choose one of {', '.join(LINEAR_PRESETS)}.")
    weight, bias, inputs = table[name]
    w = torch.tensor(weight, dtype=dtype)
    if w.dim() == 3:
        m = nn.Bilinear(w.shape[1], w.shape[2], w.shape[0], bias=bias is not None, dtype=dtype)
    else:
        m = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None, dtype=dtype)
    with torch.no_grad():
        m.weight.copy_(w)
        if bias is not None:
            m.bias.copy_(torch.tensor(bias, dtype=dtype))
    return m, tuple(torch.tensor(v, dtype=dtype) for v in inputs)


VOCAB = ("<pad>", "the", "cat", "dog", "sat", "ran", "on", "a", "mat", "rug")
PAD_ID = 0
SENTENCE = "the cat sat on the mat <pad> <pad>"
ACTIVATION_INPUT = "-4, -2, -1, -0.5, 0, 0.5, 1, 2, 4"
SOFTMAX_INPUT = "2, 1, 0.1"          # softmax: about [0.659, 0.242, 0.099]

# the notes' dropout example: x = [1..5], p = 0.5, output [2, 0, 0, 8, 0]; torch.Generator().manual_seed(38)
# draws exactly that mask (keep, drop, drop, keep, drop)
NOTES_DROPOUT_INPUT = (1.0, 2.0, 3.0, 4.0, 5.0)
NOTES_DROPOUT_P = 0.5
NOTES_DROPOUT_SEED = 38


def correct_examples():
    """The notes' dropout example, which is right, with the real traces in train and eval mode.

    """
    x = torch.tensor(NOTES_DROPOUT_INPUT)
    code = ("x = torch.arange(1., 6.)\n"
            f"g = torch.Generator().manual_seed({NOTES_DROPOUT_SEED})\n"
            f"mask = torch.empty_like(x).bernoulli_(1 - {NOTES_DROPOUT_P}, generator=g)\n"
            f"print(x * mask / (1 - {NOTES_DROPOUT_P}))   # tensor([2., 0., 0., 8., 0.])\n"
            f"drop = nn.Dropout(p={NOTES_DROPOUT_P})\n"
            "print(drop(x))                  # train mode: a fresh mask each call, kept values doubled\n"
            "drop.eval()\n"
            "print(drop(x))                  # eval mode: x unchanged\n")
    train = Confirmed(
        title="Dropout p = 0.5 on [1, 2, 3, 4, 5] (the notes are right)",
        claim="With p = 0.5 the notes drop values 2, 3 and 5 and output [2, 0, 0, 8, 0]: the kept 1 and 4 "
              "are scaled by 1/(1 − p) = 2.",
        check="Nothing goes wrong: each value is kept with probability 1 − p and divided by 1 − p, so its "
                        "expected value is still x. Which values are dropped depends on the random draw; "
                        f"seed {NOTES_DROPOUT_SEED} draws the notes' mask.",
        trace=trace_dropout(dropout_layer(NOTES_DROPOUT_P), x, seed=NOTES_DROPOUT_SEED),
        code=code)
    evaluation = Confirmed(
        title="At inference, dropout does nothing (the notes are right)",
        claim="During inference dropout is turned off and all neurons are used.",
        check="Nothing goes wrong: in eval mode nn.Dropout returns its input unchanged; the 1/(1 − p) scaling "
                        "during training is what makes train and eval outputs agree on average.",
        trace=trace_dropout(dropout_layer(NOTES_DROPOUT_P, training=False), x, seed=NOTES_DROPOUT_SEED),
        code=code)
    return [train, evaluation]
