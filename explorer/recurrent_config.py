"""Widget values -> a real nn.RNN / nn.LSTM / nn.GRU, its parameter counts, and a snippet that
rebuilds it.

torch's own constructor errors are terse ("proj_size has to be smaller than hidden_size"); a
learner gets a sentence naming the control to change instead.
"""
import math
from dataclasses import dataclass

import torch

from .errors import ExplorerError
from .examples.recurrent import KINDS, make_recurrent
from .recurrent import GATE_NAMES, GATE_SYMBOLS
from .snippets import module_snippet, tensor_literal

MAX_INPUT = 64
MAX_HIDDEN = 128
MAX_LAYERS = 4
NONLINEARITIES = ("tanh", "relu")


@dataclass(frozen=True)
class RecurrentConfig:
    """The constructor arguments the Recurrent page exposes."""
    kind: str = "LSTM"          # a key of KINDS
    input_size: int = 1         # features per time step
    hidden_size: int = 4        # units of the state (and of every gate)
    num_layers: int = 1         # stacked layers; layer k > 0 reads the outputs of layer k - 1
    bidirectional: bool = False  # a second layer reads the sequence backwards
    batch_first: bool = False   # input (N, T, F) instead of (T, N, F)
    bias: bool = True           # b_ih and b_hh
    nonlinearity: str = "tanh"  # RNN only
    proj_size: int = 0          # LSTM only: h_t = W_hr (o * tanh(c_t)) has this many units
    dropout: float = 0.0        # between stacked layers, in training mode only

    @property
    def gates(self):
        """How many row blocks the stacked weights have: 4 for an LSTM, 3 for a GRU, 1 for an RNN."""
        return {"RNN": 1, "LSTM": 4, "GRU": 3}[self.kind]

    @property
    def out_size(self):
        return self.proj_size or self.hidden_size

    def kwargs(self):
        """Keyword arguments of the torch constructor that differ from its defaults, in its order."""
        kw = {}
        if self.num_layers != 1:
            kw["num_layers"] = self.num_layers
        if self.kind == "RNN" and self.nonlinearity != "tanh":
            kw["nonlinearity"] = self.nonlinearity
        if not self.bias:
            kw["bias"] = False
        if self.batch_first:
            kw["batch_first"] = True
        if self.dropout:
            kw["dropout"] = self.dropout
        if self.bidirectional:
            kw["bidirectional"] = True
        if self.kind == "LSTM" and self.proj_size:
            kw["proj_size"] = self.proj_size
        return kw

    def code(self):
        """The constructor call as Python source."""
        args = "".join(f", {k}={v!r}" for k, v in self.kwargs().items())
        return f"nn.{self.kind}({self.input_size}, {self.hidden_size}{args})"


def validate(cfg):
    """Raise ExplorerError naming the control to change if torch would reject `cfg`."""
    if cfg.kind not in KINDS:
        raise ExplorerError(f"Unknown recurrent layer {cfg.kind!r}; choose one of {', '.join(KINDS)}.")
    for name, top in (("input_size", MAX_INPUT), ("hidden_size", MAX_HIDDEN), ("num_layers", MAX_LAYERS)):
        value = getattr(cfg, name)
        if not 1 <= value <= top:
            raise ExplorerError(f"{name} must be between 1 and {top}; it is {value}.")
    if cfg.nonlinearity not in NONLINEARITIES:
        raise ExplorerError(f"nonlinearity must be 'tanh' or 'relu'; got {cfg.nonlinearity!r}.")
    if cfg.proj_size and cfg.kind != "LSTM":
        raise ExplorerError(f"Only an LSTM has proj_size; set it to 0 for the {cfg.kind}.")
    if not 0 <= cfg.proj_size < cfg.hidden_size:
        raise ExplorerError(f"proj_size ({cfg.proj_size}) must be smaller than hidden_size ({cfg.hidden_size}): "
                            "it projects each h_t down to fewer units. Set it to 0 for no projection.")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ExplorerError(f"dropout is a probability between 0 and 1 (1 excluded); it is {cfg.dropout}.")


def build(cfg, seed=0, dtype=torch.float32):
    """A seeded module for `cfg` in evaluation mode (dropout off), weights from torch's default
    range drawn through a private generator."""
    validate(cfg)
    module = make_recurrent(cfg.kind, cfg.input_size, cfg.hidden_size, num_layers=cfg.num_layers,
                            nonlinearity=cfg.nonlinearity, bias=cfg.bias, batch_first=cfg.batch_first,
                            dropout=cfg.dropout, bidirectional=cfg.bidirectional, proj_size=cfg.proj_size,
                            dtype=dtype, seed=seed)
    return module.eval()


def dropout_note(cfg):
    """What dropout does with these settings, in one sentence (None when it is 0)."""
    if not cfg.dropout:
        return None
    if cfg.num_layers == 1:
        return (f"dropout={cfg.dropout:g} does nothing here: it only acts between stacked layers, and this "
                "layer has one (PyTorch warns about it).")
    return (f"dropout={cfg.dropout:g} zeroes outputs between the {cfg.num_layers} layers only in training mode "
            "(module.train()). This page runs the layer in evaluation mode (module.eval()), as it is used for "
            "predictions, so dropout changes nothing you see.")


LITERAL_LIMIT = 2000        # above this many numbers, weights (and a random input) are rebuilt from the seed


def snippet(cfg, trace, seed=None, x_code=None):
    """A runnable script that rebuilds this exact layer, input and initial state and prints the
    output and final state(s).

    Small layers get their weights as literals. A layer built by `build(cfg, seed)` with more than
    LITERAL_LIMIT weights gets the same seeded draw instead, which gives the very same numbers;
    `x_code` (source of an expression) likewise replaces a long input literal.
    """
    n_params = sum(p.numel() for p in trace.module.parameters())
    lines = []
    if cfg.dropout:
        lines.append("layer.eval()  # dropout acts only in training; evaluation mode, as on the page")
    if x_code is not None and trace.x.numel() > LITERAL_LIMIT:
        lines.append(f"x = {x_code}  # {_layout(cfg, trace)}")
    else:
        lines.append(f"x = {tensor_literal(trace.x)}  # {_layout(cfg, trace)}")
    given = trace.hx is not None
    lstm = cfg.kind == "LSTM"
    if given:
        h0, c0 = trace.hx if lstm else (trace.hx, None)
        lines.append(f"h0 = {tensor_literal(h0)}  # (num_layers × directions, {'' if trace.unbatched else 'batch, '}"
                     f"{'proj_size' if cfg.proj_size else 'hidden_size'})")
        if lstm:
            lines.append(f"c0 = {tensor_literal(c0)}")
    state = ("(h0, c0)" if lstm else "h0") if given else None
    call = f"layer(x, {state})" if state else "layer(x)"
    lines.append(f"output, (h_n, c_n) = {call}" if lstm else f"output, h_n = {call}")
    lines.append("torch.set_printoptions(precision=6, sci_mode=False)")
    prints = ["'output', tuple(output.shape)", "output", "'h_n', tuple(h_n.shape)", "h_n"]
    if lstm:
        prints += ["'c_n', tuple(c_n.shape)", "c_n"]
    if seed is None or n_params <= LITERAL_LIMIT:
        return module_snippet(cfg.code(), trace.module, extra_lines=lines, prints=prints)
    dtype = next(trace.module.parameters()).dtype
    head = ["import torch", "from torch import nn", "", f"layer = {cfg.code()}"]
    if dtype == torch.float64:
        head.append("layer = layer.double()")
    head += [f"# its {n_params:,} weights, as on the page: torch's default range U(-1/sqrt(hidden_size), "
             "1/sqrt(hidden_size)),", "# drawn parameter by parameter from a seeded generator",
             f"g = torch.Generator().manual_seed({int(seed)})",
             f"bound = {1.0 / math.sqrt(cfg.hidden_size)!r}  # 1 / sqrt({cfg.hidden_size})",
             "with torch.no_grad():", "    for p in layer.parameters():",
             "        p.uniform_(-bound, bound, generator=g)"]
    return "\n".join(head + lines + [f"print({p})" for p in prints]) + "\n"


def _layout(cfg, trace):
    if trace.unbatched:
        return "(T, input_size): one sequence"
    return "(batch, T, input_size)" if cfg.batch_first else "(T, batch, input_size)"


def parameter_rows(module):
    """(name, shape, what it holds) for every parameter, then the total with its formula.

    The gate matrices are stacked: weight_ih_l0 of an LSTM is four (hidden_size × input_size) blocks
    on top of each other, rows [i | f | g | o]; a GRU has three, [r | z | n]; an RNN one.
    """
    kind = _base_kind(module)
    names = GATE_NAMES[kind] or ("h",)
    G, H = max(1, len(GATE_NAMES[kind])), module.hidden_size
    P = getattr(module, "proj_size", 0) or H
    blocks = " | ".join(GATE_SYMBOLS.get(n, n) for n in names)
    rows = []
    for name, p in module.named_parameters():
        shape = tuple(p.shape)
        if name.startswith("weight_ih"):
            what = f"{G} blocks [{blocks}] of {H} rows, one column per input feature ({shape[1]})"
        elif name.startswith("weight_hh"):
            what = f"{G} blocks [{blocks}] of {H} rows, one column per unit of h_(t-1) ({shape[1]})"
        elif name.startswith("bias"):
            what = f"{G} blocks [{blocks}] of {H} values"
        else:
            what = f"projection: {P} rows × {H} columns, h_t = W_hr (o ⊙ tanh(c_t))"
        rows.append((name, shape, p.numel(), what))
    return rows


def parameter_formula(module):
    """The total parameter count as a formula per layer and direction, and its value."""
    kind = _base_kind(module)
    G, H = max(1, len(GATE_NAMES[kind])), module.hidden_size
    P = getattr(module, "proj_size", 0) or H
    D = 2 if module.bidirectional else 1
    parts = []
    for layer in range(module.num_layers):
        F = module.input_size if layer == 0 else D * P
        terms = [f"{G}·{H}·{F}", f"{G}·{H}·{P}"] + ([f"2·{G}·{H}"] if module.bias else [])
        if getattr(module, "proj_size", 0):
            terms.append(f"{P}·{H}")
        parts.append(f"layer {layer}: {D} × ({' + '.join(terms)})")
    total = sum(p.numel() for p in module.parameters())
    return parts, total


def _base_kind(module):
    for name, cls in KINDS.items():
        if isinstance(module, cls):
            return name
    raise ExplorerError(f"Not a recurrent layer: {type(module).__name__}.")


__all__ = ["RecurrentConfig", "validate", "build", "dropout_note", "snippet", "parameter_rows", "parameter_formula",
           "MAX_INPUT", "MAX_HIDDEN", "MAX_LAYERS", "NONLINEARITIES"]
