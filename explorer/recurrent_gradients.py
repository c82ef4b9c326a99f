"""Vanishing and exploding gradients: how strongly does the last state depend on earlier ones?

    g_t = || ∂h_T / ∂h_t ||_F        (the Frobenius norm of an H_out × H_out Jacobian)

In a plain RNN, ∂h_T/∂h_t is a product of T - t factors diag(tanh'(·)) W_hh, so its norm shrinks or
grows roughly geometrically with the distance T - t: the gradient vanishes or explodes. An LSTM
carries its cell state through c_t = f * c_{t-1} + i * g and a GRU its state through
h_t = (1 - z) * n + z * h_{t-1}: with the gates open, those factors stay near 1 for many steps.

Everything here runs the real module under autograd (one step at a time, so that every h_t is a
node of the graph); it is a view of the module, not a recomputation of it.
"""
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ExplorerError
from .examples.recurrent import make_recurrent, random_input
from .recurrent import RECURRENT_KINDS, _check_dropout, kind_of
from .validate import require_dtype_match, require_module, require_tensor

MAX_GRADIENT_STEPS = 500


@dataclass(frozen=True)
class GradientFlow:
    """The sensitivity of the last hidden state to each earlier one."""
    kind: str                   # "RNN", "LSTM" or "GRU"
    scale: float                # the factor the recurrent weights were scaled by (1.0: as given)
    norms: torch.Tensor         # (T,) float64, ||∂h_T / ∂h_t||_F for t = 0 .. T-1 (h_T: the last state)

    @property
    def steps_back(self):
        """(T,) how many steps before the end each norm is: T-1-t (0 for the last state itself)."""
        return torch.arange(len(self.norms) - 1, -1, -1)

    @property
    def decay_per_step(self):
        """The geometric mean factor by which the norm changes per step back (<1 vanishes, >1 explodes)."""
        n = self.norms
        if len(n) < 2 or float(n[-1]) == 0.0:
            return float("nan")
        ratio = float(n[0]) / float(n[-1])
        return ratio ** (1.0 / (len(n) - 1)) if ratio > 0 else 0.0


def gradient_flow(module, x, hx=None, *, scale=1.0):
    """||∂h_T / ∂h_t|| for every step t of one sequence, by autograd through the real module.

    For a stack of layers h_t is the state of every layer at step t (shape (L, H_out)) and h_T
    the last layer's output at the last step. An LSTM's h_t excludes its cell state c_t: the
    gradient flows from h_t into the gates of step t+1 and on through the cell states.

    Args:
        module: a unidirectional nn.RNN, nn.LSTM or nn.GRU (not modified); batch_first either way.
        x: one sequence, (T, input_size).
        hx: optional unbatched initial state as torch takes it ((L, H_out), or a pair for an LSTM).
        scale: recorded in the result only (see compare_gradient_flow).

    Returns:
        GradientFlow with norms of shape (T,).

    >>> flow = gradient_flow(nn.GRU(1, 8), torch.ones(20, 1))
    >>> flow.norms.shape
    torch.Size([20])
    """
    require_module(module, RECURRENT_KINDS, "gradient_flow")
    require_tensor(x)
    require_dtype_match(module, x)
    if module.bidirectional:
        raise ExplorerError("The gradient view follows one reading direction; use a layer with bidirectional=False.")
    if x.dim() != 2 or x.shape[1] != module.input_size:
        raise ExplorerError(f"The gradient view takes one sequence of shape (T, {module.input_size}); "
                            f"got {tuple(x.shape)}.")
    _check_dropout(module)
    T = x.shape[0]
    if not 1 <= T <= MAX_GRADIENT_STEPS:
        raise ExplorerError(f"The sequence has {T} steps; the gradient view takes 1 to {MAX_GRADIENT_STEPS}.")
    P = module.proj_size or module.hidden_size
    is_lstm = isinstance(module, nn.LSTM)
    # P copies of the sequence as a batch: copy j backpropagates unit j of h_T, so one backward
    # pass yields all P rows of every Jacobian ∂h_T/∂h_t at once
    xs = x.detach().unsqueeze(1).expand(T, P, x.shape[1])                   # (T, P, F)
    parts = [p.requires_grad_() for p in _initial(module, hx, P, x)]     # a graph even if weights are frozen
    state = tuple(parts) if is_lstm else parts[0]
    with torch.enable_grad():
        states = []
        for t in range(T):
            step = xs[t:t + 1]                                               # (1, P, F)
            _, state = module(step.transpose(0, 1) if module.batch_first else step, state)
            states.append(state[0] if is_lstm else state)                    # (L, P, H_out)
        h_T = states[-1][-1]                                                 # (P copies, H_out) top layer
        picked = h_T.diagonal().sum()                                        # sum_j h_T[copy j, unit j]
        grads = torch.autograd.grad(picked, states)                          # T × (L, P, H_out)
    norms = torch.stack([g.double().norm() for g in grads])                  # (T,)
    return GradientFlow(kind=kind_of(module), scale=float(scale), norms=norms.detach())


def scaled_recurrent(kind, scale, hidden_size=16, seed=0, keep_bias=0.0, dtype=torch.float64):
    """A seeded one-layer `kind` whose recurrent weights are `scale` times random orthogonal matrices.

    Each H×H gate block of W_hh stretches every state direction by exactly `scale`, so scale < 1
    shrinks the state from step to step and scale > 1 stretches it. `keep_bias` is added to the
    bias of the gate that keeps the old state (LSTM forget gate, GRU update gate; an RNN has none):
    torch initialises it near 0, so the gate starts half open (σ(0) = 0.5) and halves the carried
    state at every step; a bias of 3 opens it to σ(3) ≈ 0.95.

    >>> scaled_recurrent("RNN", 0.5, hidden_size=4).weight_hh_l0.detach().pow(2).sum(1)  # rows of 0.5·Q
    tensor([0.2500, 0.2500, 0.2500, 0.2500], dtype=torch.float64)
    """
    if not scale > 0:
        raise ExplorerError(f"The weight scale must be a positive number; got {scale}.")
    module = make_recurrent(kind, 1, hidden_size, dtype=dtype, seed=seed)
    g = torch.Generator().manual_seed(int(seed) + 1)
    blocks = module.weight_hh_l0.shape[0] // hidden_size
    with torch.no_grad():
        for k in range(blocks):
            q, _ = torch.linalg.qr(torch.randn(hidden_size, hidden_size, generator=g, dtype=dtype))
            module.weight_hh_l0[k * hidden_size:(k + 1) * hidden_size] = scale * q
        if kind != "RNN":
            module.bias_ih_l0[hidden_size:2 * hidden_size] += keep_bias     # forget (LSTM) / update (GRU) rows
    return module


def compare_gradient_flow(scale=1.0, *, keep_bias=0.0, steps=60, hidden_size=16, seed=0,
                          kinds=("RNN", "LSTM", "GRU")):
    """gradient_flow for each kind of cell on the same seeded input, built by scaled_recurrent with
    the same `scale` and `keep_bias`.

    Returns:
        dict kind -> GradientFlow.

    >>> flows = compare_gradient_flow(1.0, keep_bias=3.0, steps=30)
    >>> float(flows["RNN"].norms[0]) < float(flows["LSTM"].norms[0])
    True
    """
    if not 1 <= steps <= MAX_GRADIENT_STEPS:
        raise ExplorerError(f"Choose between 1 and {MAX_GRADIENT_STEPS} steps; got {steps}.")
    x = random_input((steps, 1), seed, dtype=torch.float64)
    return {kind: gradient_flow(scaled_recurrent(kind, scale, hidden_size, seed, keep_bias), x, scale=scale)
            for kind in kinds}


def _initial(module, hx, copies, x):
    """[h_0] or [h_0, c_0], repeated for every copy of the batch, or zeros; fresh tensors."""
    L, P, H = module.num_layers, module.proj_size or module.hidden_size, module.hidden_size
    is_lstm = isinstance(module, nn.LSTM)
    if hx is None:
        return [x.new_zeros(L, copies, P)] + ([x.new_zeros(L, copies, H)] if is_lstm else [])
    parts = hx if isinstance(hx, (tuple, list)) else (hx,)
    expected = [(L, P), (L, H)][:len(parts)]
    for name, part, shape in zip(("h_0", "c_0"), parts, expected):
        require_tensor(part, f"initial state {name}")
        if tuple(part.shape) != shape:
            raise ExplorerError(f"The initial state {name} has shape {tuple(part.shape)}; "
                                f"for one sequence this layer expects {shape}.")
    if is_lstm != (len(parts) == 2):
        raise ExplorerError("An LSTM takes the pair (h_0, c_0); an RNN or GRU takes h_0 alone.")
    return [p.detach().unsqueeze(1).repeat(1, copies, 1) for p in parts]   # (L, P copies, ·)


__all__ = ["GradientFlow", "gradient_flow", "scaled_recurrent", "compare_gradient_flow", "MAX_GRADIENT_STEPS"]
