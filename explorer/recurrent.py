"""Recurrent layers (RNN, LSTM, GRU), one time step at a time.

    RNN   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)           (relu with nonlinearity='relu')
    LSTM  i, f, g, o = σ, σ, tanh, σ of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), split in four
          c_t = f * c_{t-1} + i * g      h_t = o * tanh(c_t)           (then h_t = W_hr h_t if proj_size)
    GRU   r, z = σ(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h_{t-1} + b_h{r,z})
          n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))      h_t = (1 - z) * n + z * h_{t-1}

torch stacks the matrices of all gates in one weight per layer and direction (weight_ih_l{k}, with
the suffix _reverse for the backward direction): LSTM rows are [i | f | g | o], GRU rows [r | z | n].
Layer k > 0 reads the outputs of both directions of layer k - 1, concatenated. The backward
direction reads the sequence from the last step to the first; its states are still indexed by the
step t they belong to, so they line up with output[t].

Layouts: `hidden[layer, direction, t, b, unit]`, and `cell` and every `gates[name]` alike. `unit`
runs over hidden_size, except in `hidden` of an LSTM with proj_size > 0, where it runs over
proj_size. An unbatched input is traced as a batch of one (b = 0).
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import nn

from .errors import ExplorerError
from .validate import max_abs_error, no_grad_forward, require_dtype_match, require_module, require_tensor

RECURRENT_KINDS = (nn.RNN, nn.LSTM, nn.GRU)
GATE_NAMES = {"RNN": (), "LSTM": ("input", "forget", "cell", "output"), "GRU": ("reset", "update", "new")}
GATE_SYMBOLS = {"input": "i", "forget": "f", "cell": "g", "output": "o", "reset": "r", "update": "z", "new": "n"}
# the row blocks of weight_ih / weight_hh; an RNN has one block, the pre-activation of h itself
PARTS = {"RNN": ("hidden",), "LSTM": GATE_NAMES["LSTM"], "GRU": GATE_NAMES["GRU"]}


@dataclass(frozen=True)
class CellStep:
    """The numbers of one cell update, as a math panel shows them (batch item b only)."""
    layer: int
    direction: int              # 0 forward, 1 backward
    t: int                      # the step, in the sequence's own order
    b: int
    x: torch.Tensor             # (F,) what this layer reads at step t
    h_prev: torch.Tensor        # (H_out,) the state before this step, in this direction's reading order
    c_prev: Optional[torch.Tensor]  # (H,) LSTM only
    from_input: dict            # part -> (H,) W_i· x_t + b_i· for each part in PARTS[kind]
    from_hidden: dict           # part -> (H,) W_h· h_prev + b_h·
    gates: dict                 # gate name -> (H,) after its sigmoid / tanh; empty for an RNN
    c: Optional[torch.Tensor]   # (H,) the new LSTM cell state
    h_unprojected: Optional[torch.Tensor]  # (H,) o * tanh(c) before W_hr (LSTM with proj_size only)
    h: torch.Tensor             # (H_out,) the new hidden state


@dataclass(frozen=True)
class RecurrentTrace:
    """A recurrent layer's forward pass, with our step-by-step recomputation beside it."""
    module: nn.Module
    kind: str                   # "RNN", "LSTM" or "GRU"
    nonlinearity: str           # the RNN's "tanh" or "relu"; "tanh" for LSTM and GRU
    x: torch.Tensor             # the input as given
    hx: object                  # the initial state as given: None, h_0, or (h_0, c_0) for an LSTM
    output: torch.Tensor        # module(x, hx)[0] under no_grad, exactly as torch returns it
    manual: torch.Tensor        # the same from the explicit gate equations, same layout
    max_abs_error: float
    hidden: torch.Tensor        # (L, D, T, B, H_out) h_t of every layer and direction
    cell: Optional[torch.Tensor]  # (L, D, T, B, H) c_t; None unless LSTM
    gates: dict                 # name -> (L, D, T, B, H) activated gate; {} for an RNN (it has none)
    input_projection: torch.Tensor  # (L, D, T, B, G*H) W_ih x_t + b_ih for all t, torch's gate order
    h0: torch.Tensor            # (L, D, B, H_out) the initial hidden state used (zeros if hx is None)
    c0: Optional[torch.Tensor]  # (L, D, B, H) LSTM only
    h_n: torch.Tensor           # the module's final hidden state, as torch returns it
    c_n: Optional[torch.Tensor]  # the module's final cell state (LSTM), else None
    state_error: float          # largest gap between our final states and h_n / c_n

    @property
    def num_layers(self):
        return self.hidden.shape[0]

    @property
    def num_directions(self):
        return self.hidden.shape[1]

    @property
    def seq_len(self):
        return self.hidden.shape[2]

    @property
    def batch(self):
        return self.hidden.shape[3]

    @property
    def hidden_size(self):
        return self.module.hidden_size

    @property
    def out_size(self):
        """Units of h_t: proj_size for a projected LSTM, else hidden_size."""
        return self.hidden.shape[4]

    @property
    def unbatched(self):
        return self.x.dim() == 2

    @property
    def gate_names(self):
        return GATE_NAMES[self.kind]

    def weights(self, layer, direction):
        """The parameters of one layer and direction: weight_ih, weight_hh, bias_ih, bias_hh
        (zeros when bias=False) and weight_hr (None unless proj_size), detached."""
        self._check(layer, direction, 0, 0)
        return _weights(self.module, layer, direction)

    def gate_rows(self, part):
        """The rows of weight_ih / weight_hh (and bias) that belong to one gate, e.g. gate_rows("forget")."""
        parts = PARTS[self.kind]
        if part not in parts:
            raise ExplorerError(f"A {self.kind} has no gate called {part!r}; its parts are {', '.join(parts)}.")
        k, H = parts.index(part), self.hidden_size
        return slice(k * H, (k + 1) * H)

    def layer_input(self, layer):
        """The sequence layer `layer` reads: the input, or both directions of the layer below.

        Shape (T, B, F) with F = input_size for layer 0, D * H_out above it.
        """
        if layer == 0:
            return _time_major(self.x, self.module.batch_first)             # (T, B, F)
        below = self.hidden[layer - 1]                                       # (D, T, B, H_out)
        D, T, B, P = below.shape
        return below.permute(1, 2, 0, 3).reshape(T, B, D * P)                # (T, B, D*H_out)

    def previous_hidden(self, layer, direction):
        """The state each step starts from, (T, B, H_out): h_0 then h_0..h_{T-2} forward; the
        backward direction starts at t = T-1, so its step t starts from the state of t+1."""
        self._check(layer, direction, 0, 0)
        h, h0 = self.hidden[layer, direction], self.h0[layer, direction].unsqueeze(0)  # (T, B, P), (1, B, P)
        return torch.cat([h0, h[:-1]]) if direction == 0 else torch.cat([h[1:], h0])  # (T, B, H_out)

    def step(self, layer, direction, t, b=0):
        """The cell update at step t, every intermediate number included.

        >>> lstm = nn.LSTM(1, 2)
        >>> s = trace_recurrent(lstm, torch.ones(3, 1)).step(0, 0, 1)
        >>> s.h.shape, sorted(s.gates)
        (torch.Size([2]), ['cell', 'forget', 'input', 'output'])
        """
        self._check(layer, direction, t, b)
        w = self.weights(layer, direction)
        first = t == (0 if direction == 0 else self.seq_len - 1)
        prev = t - 1 if direction == 0 else t + 1
        h_prev = self.h0[layer, direction, b] if first else self.hidden[layer, direction, prev, b]
        c_prev = None
        if self.cell is not None:
            c_prev = self.c0[layer, direction, b] if first else self.cell[layer, direction, prev, b]
        from_hidden = w["weight_hh"] @ h_prev + w["bias_hh"]                 # (G*H,)
        n = len(PARTS[self.kind])
        split = lambda v: dict(zip(PARTS[self.kind], v.chunk(n)))           # noqa: E731
        gates = {name: g[layer, direction, t, b] for name, g in self.gates.items()}
        c = None if self.cell is None else self.cell[layer, direction, t, b]
        h_unprojected = None
        if w["weight_hr"] is not None:
            h_unprojected = gates["output"] * torch.tanh(c)                  # (H,)
        return CellStep(layer=layer, direction=direction, t=t, b=b, x=self.layer_input(layer)[t, b],
                        h_prev=h_prev, c_prev=c_prev,
                        from_input=split(self.input_projection[layer, direction, t, b]),
                        from_hidden=split(from_hidden), gates=gates, c=c, h_unprojected=h_unprojected,
                        h=self.hidden[layer, direction, t, b])

    def final_states(self):
        """Our (h_n, c_n) in torch's layout: (L*D, B, H_out), or (L*D, H_out) unbatched; c_n None
        unless LSTM. Forward directions end at t = T-1, backward ones at t = 0."""
        return _final(self.hidden, self.unbatched), _final(self.cell, self.unbatched)

    def _check(self, layer, direction, t, b):
        for name, v, n in (("Layer", layer, self.num_layers), ("Direction", direction, self.num_directions),
                           ("Step", t, self.seq_len), ("Batch index", b, self.batch)):
            if not 0 <= v < n:
                raise ExplorerError(f"{name} {v} is out of range: it must be between 0 and {n - 1}.")


def trace_recurrent(module, x, hx=None):
    """Run an RNN, LSTM or GRU and recompute it step by step from its weights.

    LSTM: c_t = σ(f) * c_{t-1} + σ(i) * tanh(g),  h_t = σ(o) * tanh(c_t)   (see the module docstring)

    Args:
        module: nn.RNN (tanh or relu), nn.LSTM (proj_size allowed) or nn.GRU; any num_layers,
            bidirectional, batch_first and bias. Not modified. In training mode, dropout between
            layers must be 0: it would make the output random.
        x: float tensor (T, N, input_size), (N, T, input_size) with batch_first, or (T, input_size).
        hx: optional initial state as torch takes it: h_0 of shape (D*L, N, H_out) (or (D*L, H_out)
            unbatched); for an LSTM the pair (h_0, c_0), c_0 of shape (D*L, N, hidden_size).

    Shape:
        output and manual: exactly as the module returns them, (T, N, D*H_out) etc.
        hidden: (L, D, T, N, H_out); cell and gates[name]: (L, D, T, N, hidden_size). N = 1 unbatched.

    Returns:
        RecurrentTrace. `gates` names: LSTM input, forget, cell, output; GRU reset, update, new;
        an RNN has no gates, so its `gates` is an empty dict.

    >>> gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    >>> t = trace_recurrent(gru, torch.randn(5, 2, 3))
    >>> t.output.shape, t.hidden.shape, t.gates["update"].shape, t.max_abs_error < 1e-5
    (torch.Size([5, 2, 8]), torch.Size([2, 2, 5, 2, 4]), torch.Size([2, 2, 5, 2, 4]), True)
    """
    require_module(module, RECURRENT_KINDS, "trace_recurrent")
    require_tensor(x)
    require_dtype_match(module, x)
    if x.dtype not in (torch.float32, torch.float64):
        raise ExplorerError(f"The input is {x.dtype}; the explorer traces float32 or float64 layers. "
                            "Convert both with module.float() and x.float().")
    kind = kind_of(module)
    seq = _check_input(module, x)                                            # (T, B, F)
    h0, c0 = _initial_state(module, kind, hx, seq, unbatched=x.dim() == 2)
    _check_dropout(module)
    try:
        output, state = no_grad_forward(module, x, hx)
    except RuntimeError as e:
        raise ExplorerError(f"PyTorch rejected this layer and input: {e}") from None
    h_n, c_n = state if kind == "LSTM" else (state, None)

    projections, hidden, cell, stacked = _recompute(module, kind, seq.detach(), h0, c0)
    L, D, T, B, P = hidden.shape
    manual = hidden[-1].permute(1, 2, 0, 3).reshape(T, B, D * P)             # (T, B, D*H_out)
    if module.batch_first:
        manual = manual.transpose(0, 1)                                      # (B, T, D*H_out)
    manual = manual.reshape(output.shape)
    H = module.hidden_size
    gates = {name: stacked[..., k * H:(k + 1) * H] for k, name in enumerate(GATE_NAMES[kind])}
    unbatched = x.dim() == 2
    state_error = max_abs_error(h_n, _final(hidden, unbatched))
    if c_n is not None:
        state_error = max(state_error, max_abs_error(c_n, _final(cell, unbatched)))
    return RecurrentTrace(module=module, kind=kind, nonlinearity=getattr(module, "nonlinearity", "tanh"),
                          x=x, hx=hx, output=output, manual=manual, max_abs_error=max_abs_error(output, manual),
                          hidden=hidden, cell=cell, gates=gates, input_projection=projections, h0=h0, c0=c0,
                          h_n=h_n, c_n=c_n, state_error=state_error)


# -- checks ---------------------------------------------------------------------------------------

def kind_of(module):
    """"RNN", "LSTM" or "GRU" for a module of (a subclass of) that kind."""
    for k in RECURRENT_KINDS:
        if isinstance(module, k):
            return k.__name__


def _time_major(x, batch_first):
    """Any accepted input as (T, B, F)."""
    if x.dim() == 2:
        return x.unsqueeze(1)                                                # (T, 1, F)
    return x.transpose(0, 1) if batch_first else x                           # (T, B, F)


def _check_input(module, x):
    layout = "(N, T, features)" if module.batch_first else "(T, N, features)"
    if x.dim() not in (2, 3):
        raise ExplorerError(
            f"The input has shape {tuple(x.shape)} ({x.dim()} dims) but a recurrent layer expects 3 dims "
            f"{layout}, or 2 dims (T, features) for a single sequence.")
    seq = _time_major(x, module.batch_first)                                 # (T, B, F)
    T, B, F = seq.shape
    if F != module.input_size:
        raise ExplorerError(f"Each time step of the input has {F} features but the layer expects "
                            f"input_size = {module.input_size}.")
    if T == 0 or B == 0:
        raise ExplorerError(f"The input has shape {tuple(x.shape)}: it needs at least one time step "
                            "and one sequence.")
    return seq


def _initial_state(module, kind, hx, seq, unbatched):
    """hx as (L, D, B, H_out) and, for an LSTM, (L, D, B, H); zeros where hx is None."""
    L, D = module.num_layers, 2 if module.bidirectional else 1
    B = seq.shape[1]
    P = module.proj_size or module.hidden_size
    if hx is None:
        c0 = seq.new_zeros(L, D, B, module.hidden_size) if kind == "LSTM" else None
        return seq.new_zeros(L, D, B, P), c0
    if kind == "LSTM":
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ExplorerError("An LSTM's initial state is a pair (h_0, c_0) of tensors; "
                                f"got {type(hx).__name__}.")
        states = [("h_0", hx[0], P), ("c_0", hx[1], module.hidden_size)]
    elif isinstance(hx, (tuple, list)):
        raise ExplorerError(f"A {kind}'s initial state is one tensor h_0, not a pair: it has no cell state.")
    else:
        states = [("h_0", hx, P)]
    out = []
    for name, s, size in states:
        require_tensor(s, f"initial state {name}")
        require_dtype_match(module, s)
        expected = (L * D, size) if unbatched else (L * D, B, size)
        if tuple(s.shape) != expected:
            what = "proj_size" if name == "h_0" and module.proj_size else "hidden_size"
            batch = "" if unbatched else f"batch = {B}, "
            raise ExplorerError(
                f"The initial state {name} has shape {tuple(s.shape)} but this layer expects {expected}: "
                f"(num_layers × directions = {L * D}, {batch}{what} = {size}).")
        out.append(s.detach().reshape(L, D, B, size))                        # (L, D, B, size)
    return out[0], (out[1] if kind == "LSTM" else None)


def _check_dropout(module):
    if module.training and module.dropout > 0 and module.num_layers > 1:
        raise ExplorerError(
            f"This layer is in training mode with dropout={module.dropout:g} between its "
            f"{module.num_layers} layers, so its output is random: each run drops different values. "
            "Switch it to evaluation mode (module.eval()) or set dropout=0 to trace it.")


# -- the math itself ------------------------------------------------------------------------------

def _weights(module, layer, direction):
    suffix = f"l{layer}" + ("_reverse" if direction else "")
    w_ih = getattr(module, f"weight_ih_{suffix}").detach()
    w_hh = getattr(module, f"weight_hh_{suffix}").detach()
    zeros = w_ih.new_zeros(w_ih.shape[0])
    w_hr = getattr(module, f"weight_hr_{suffix}", None)
    return dict(weight_ih=w_ih, weight_hh=w_hh,
                bias_ih=getattr(module, f"bias_ih_{suffix}").detach() if module.bias else zeros,
                bias_hh=getattr(module, f"bias_hh_{suffix}").detach() if module.bias else zeros,
                weight_hr=None if w_hr is None else w_hr.detach())


def _recompute(module, kind, seq, h0, c0):
    """Every layer and direction in turn. seq: (T, B, F); h0: (L, D, B, H_out); c0: (L, D, B, H).

    Returns input projections (L, D, T, B, G*H), hidden (L, D, T, B, H_out), cell (L, D, T, B, H)
    or None, and the activated gates stacked like the weights (L, D, T, B, G*H).
    """
    L, D = h0.shape[:2]
    layers = []
    layer_in = seq
    for layer in range(L):
        dirs = []
        for d in range(D):
            w = _weights(module, layer, d)
            c = None if c0 is None else c0[layer, d]
            dirs.append(_run_direction(kind, module, layer_in, w, h0[layer, d], c, reverse=d == 1))
        layers.append(dirs)
        layer_in = torch.cat([r[1] for r in dirs], dim=-1) if D > 1 else dirs[0][1]  # (T, B, D*H_out)
    if L == D == 1:                                                          # nothing to stack: views, no copy
        return tuple(None if r is None else r[None, None] for r in layers[0][0])
    stack = lambda i: torch.stack([torch.stack([r[i] for r in dirs]) for dirs in layers])  # noqa: E731
    return stack(0), stack(1), (stack(2) if kind == "LSTM" else None), stack(3)


def _run_direction(kind, module, seq, w, h0, c0, reverse):
    """One layer in one direction: (projections, hidden, cell, gates), each (T, B, ·) in step order."""
    if reverse:
        seq = seq.flip(0)                                                    # read last step first
    T, B, F = seq.shape
    xp = torch.addmm(w["bias_ih"], seq.reshape(T * B, F), w["weight_ih"].t())  # (T*B, G*H)
    xp = xp.view(T, B, -1)                                                   # (T, B, G*H)
    if kind == "LSTM":
        hidden, cell, gates = _lstm(xp, h0, c0, w)
    elif kind == "GRU":
        (hidden, gates), cell = _gru(xp, h0, w), None
    else:
        hidden, cell, gates = _rnn(xp, h0, w, module.nonlinearity), None, xp.new_empty(T, B, 0)
    results = (xp, hidden, cell, gates)
    return tuple(r.flip(0) if reverse and r is not None else r for r in results)


# The time loops run in numpy on the same memory as the tensors (no copies). Each step is a dozen
# operations on tiny vectors, where a numpy call costs a fraction of a torch call; that per-call
# cost, not the arithmetic, is what a sequential loop over T steps pays for. Every step writes into
# preallocated buffers (out=) for the same reason.

def _sigmoid_(a):
    """σ(a) = (1 + tanh(a / 2)) / 2, in place: numpy has no sigmoid, and exp(-a) would overflow."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5


def _rnn(xp, h0, w, nonlinearity):
    """h_t = act(xp_t + b_hh + W_hh h_{t-1}). xp: (T, B, H); h0: (B, H). Returns (T, B, H)."""
    T, B, H = xp.shape
    pre = (xp + w["bias_hh"]).numpy()                                       # (T, B, H)
    hidden = np.empty((T + 1, B, H), pre.dtype)                             # [0] = h_0
    hidden[0] = h0.numpy()
    w_hh_t = w["weight_hh"].numpy().T                                       # (H, H)
    for t in range(T):
        h = np.matmul(hidden[t], w_hh_t, out=hidden[t + 1])                 # (B, H)
        h += pre[t]
        if nonlinearity == "tanh":
            np.tanh(h, out=h)
        else:
            np.maximum(h, 0, out=h)
    return torch.from_numpy(hidden[1:])                                     # (T, B, H)


def _lstm(xp, h0, c0, w):
    """xp: (T, B, 4H); h0: (B, P); c0: (B, H). Returns hidden (T, B, P), cell (T, B, H), gates (T, B, 4H).

    σ(a) = (1 + tanh(a/2)) / 2, so one tanh serves all four gates: the rows of i, f and o are
    halved once, before the loop (exact: a power of two), and each step only rescales them back.
    """
    T, B, G = xp.shape
    H, P = G // 4, h0.shape[-1]
    half = xp.new_full((G,), 0.5)
    half[2 * H:3 * H] = 1.0                                                 # (4H,) 1/2 for i, f, o; 1 for g
    gates = ((xp + w["bias_hh"]) * half).numpy()                            # (T, B, 4H): i | f | g | o, halved
    w_hh = (w["weight_hh"] * half[:, None]).numpy()                         # (4H, P) rows halved likewise
    shift = (1.0 - half).numpy()
    shift[2 * H:3 * H] = 0.0                                                # σ = tanh / 2 + 1/2; g = tanh
    half = half.numpy()
    cell, hidden = np.empty((T + 1, B, H), gates.dtype), np.empty((T + 1, B, P), gates.dtype)
    cell[0], hidden[0] = c0.numpy(), h0.numpy()                             # [0] = initial state
    w_hr_t = None if w["weight_hr"] is None else w["weight_hr"].numpy().T   # (H, P)
    tmp, hp = np.empty((B, H), gates.dtype), np.empty((B, G), gates.dtype)
    # every per-step view made once, before the loop: slicing inside it would cost as much as the math
    i, f, g, o = (list(v) for v in np.split(gates, 4, axis=-1))             # T views, each (B, H)
    a_, c_, h_ = list(gates), list(cell), list(hidden)
    h_row, hp_row = list(hidden[:, 0]), hp[0]                               # B = 1: rows for np.dot
    w_hh_t = w_hh.T
    mul, tanh = np.multiply, np.tanh
    for t in range(T):
        a = a_[t]                                                           # (B, 4H)
        if B == 1:
            np.dot(w_hh, h_row[t], hp_row)                                  # W_hh h, one matrix-vector product
        else:
            np.matmul(h_[t], w_hh_t, hp)
        a += hp
        tanh(a, a)
        a *= half
        a += shift                                                          # i, f, o = σ(…); g = tanh(…)
        c = mul(f[t], c_[t], c_[t + 1])
        c += mul(i[t], g[t], tmp)                                           # c = f * c + i * g
        if w_hr_t is None:
            mul(o[t], tanh(c, tmp), h_[t + 1])                              # h = o * tanh(c)
        else:
            np.matmul(mul(o[t], tanh(c, tmp), tmp), w_hr_t, h_[t + 1])      # h = W_hr (o * tanh(c))
    return torch.from_numpy(hidden[1:]), torch.from_numpy(cell[1:]), torch.from_numpy(gates)


def _gru(xp, h0, w):
    """xp: (T, B, 3H); h0: (B, H). Returns hidden (T, B, H) and gates (T, B, 3H): r | z | n."""
    T, B, G = xp.shape
    H = G // 3
    x_part = xp.numpy()                                                     # (T, B, 3H)
    gates = np.empty_like(x_part)                                           # (T, B, 3H): r | z | n
    rz, n = gates[..., :2 * H], gates[..., 2 * H:]
    r, z = gates[..., :H], gates[..., H:2 * H]
    hidden = np.empty((T + 1, B, H), x_part.dtype)                          # [0] = h_0
    hidden[0] = h0.numpy()
    hp = np.empty((B, G), x_part.dtype)                                     # (B, 3H) W_hh h + b_hh
    w_hh_t, b_hh = w["weight_hh"].numpy().T, w["bias_hh"].numpy()           # (H, 3H), (3H,)
    for t in range(T):
        np.matmul(hidden[t], w_hh_t, out=hp)
        hp += b_hh
        _sigmoid_(np.add(x_part[t, :, :2 * H], hp[:, :2 * H], out=rz[t]))   # r, z
        nt = np.multiply(r[t], hp[:, 2 * H:], out=n[t])
        nt += x_part[t, :, 2 * H:]
        np.tanh(nt, out=nt)                                                 # n = tanh(xn + r * hn)
        h = np.subtract(hidden[t], nt, out=hidden[t + 1])
        h *= z[t]
        h += nt                                                             # h = n + z * (h - n)
    return torch.from_numpy(hidden[1:]), torch.from_numpy(gates)


def _final(states, unbatched):
    """(L, D, T, B, U) states -> torch's (L*D, B, U) final state: t = T-1 forward, t = 0 backward."""
    if states is None:
        return None
    L, D, T, B, U = states.shape
    last = torch.stack([states[:, 0, T - 1]] + ([states[:, 1, 0]] if D == 2 else []), dim=1)  # (L, D, B, U)
    last = last.reshape(L * D, B, U)                                         # (L*D, B, U)
    return last[:, 0] if unbatched else last


__all__ = ["trace_recurrent", "kind_of", "RecurrentTrace", "CellStep", "GATE_NAMES", "GATE_SYMBOLS", "PARTS",
           "RECURRENT_KINDS"]
