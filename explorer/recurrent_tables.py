"""The numbers of one recurrent step as tables: each gate equation with its actual vectors, the
state update, a worked single value, and everything shown as CSV tables.

Every number comes from a RecurrentTrace (trace.step), so the tables equal what the real module
computed; this file only arranges them.
"""
import pandas as pd
import torch

from .errors import ExplorerError
from .recurrent import GATE_SYMBOLS

SQUASH = {"cell": "tanh", "new": "tanh"}    # every other gate is a sigmoid
MAX_TERMS = 8                                # products written out in a worked value


def _vec(v, units):
    return [float(v[u]) for u in units]


def _units(trace, units, n):
    if units is None:
        return list(range(n))
    bad = [u for u in units if not 0 <= u < n]
    if bad:
        raise ExplorerError(f"Unit {bad[0]} is out of range: the layer has {n} units (0 to {n - 1}).")
    return list(units)


def gate_sections(trace, layer, direction, t, units=None, b=0):
    """[(title, DataFrame)]: one table per gate, then the state update.

    Each gate table has one row per chosen unit: the input part W_i· x_t + b_i·, the hidden part
    W_h· h_(t-1) + b_h·, their sum (for the GRU's n: input part + r ⊙ hidden part) and the gate.
    """
    s = trace.step(layer, direction, t, b)
    H = trace.hidden_size
    units = _units(trace, units, H)
    prev = "t+1" if direction else "t-1"
    sections = []
    if trace.kind == "RNN":
        a, h = s.from_input["hidden"], s.from_hidden["hidden"]
        df = pd.DataFrame({"unit": units, "W_ih x_t + b_ih": _vec(a, units), f"W_hh h_{prev} + b_hh": _vec(h, units),
                           "sum": _vec(a + h, units), f"h_t = {trace.nonlinearity}(sum)": _vec(s.h, units)})
        return [("hidden state", df)]
    for name in trace.gate_names:
        sym = GATE_SYMBOLS[name]
        a, h, g = s.from_input[name], s.from_hidden[name], s.gates[name]
        squash = SQUASH.get(name, "σ")
        cols = {"unit": units, f"W_i{sym} x_t + b_i{sym}": _vec(a, units),
                f"W_h{sym} h_{prev} + b_h{sym}": _vec(h, units)}
        if name == "new":
            r = s.gates["reset"]
            cols["r_t"] = _vec(r, units)
            cols["input part + r ⊙ hidden part"] = _vec(a + r * h, units)
        else:
            cols["sum"] = _vec(a + h, units)
        cols[f"{sym}_t = {squash}(…)"] = _vec(g, units)
        sections.append((f"{name} gate {sym}", pd.DataFrame(cols)))
    sections.append(_state_section(trace, s, units, prev))
    if s.h_unprojected is not None:
        P = trace.out_size
        df = pd.DataFrame({"unit": list(range(P)), "h_t = W_hr (o ⊙ tanh(c_t))": _vec(s.h, range(P))})
        sections.append(("projection", df))
    return sections


def _state_section(trace, s, units, prev):
    g = s.gates
    if trace.kind == "LSTM":
        f, i, c_gate, o = g["forget"], g["input"], g["cell"], g["output"]
        cols = {"unit": units, f"c_{prev}": _vec(s.c_prev, units), "f_t": _vec(f, units),
                f"f ⊙ c_{prev}": _vec(f * s.c_prev, units), "i_t": _vec(i, units), "g_t": _vec(c_gate, units),
                "i ⊙ g": _vec(i * c_gate, units), "c_t": _vec(s.c, units), "o_t": _vec(o, units),
                "tanh(c_t)": _vec(torch.tanh(s.c), units)}
        if s.h_unprojected is None:
            cols["h_t = o ⊙ tanh(c_t)"] = _vec(s.h, units)
        else:
            cols["o ⊙ tanh(c_t)"] = _vec(s.h_unprojected, units)
        return ("cell and hidden state", pd.DataFrame(cols))
    z, n = g["update"], g["new"]
    cols = {"unit": units, f"h_{prev}": _vec(s.h_prev, units), "z_t": _vec(z, units), "n_t": _vec(n, units),
            "(1 − z) ⊙ n": _vec((1 - z) * n, units), f"z ⊙ h_{prev}": _vec(z * s.h_prev, units),
            "h_t": _vec(s.h, units)}
    return ("hidden state: a blend", pd.DataFrame(cols))


SMALL = 4                                    # matrices are written out up to this many rows and columns


def _col(values):
    """A column vector in LaTeX."""
    return r"\begin{bmatrix}" + r" \\ ".join(f"{float(v):.3f}" for v in values) + r"\end{bmatrix}"


def _mat(m):
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(f"{float(v):.3f}" for v in row) for row in m) \
        + r"\end{bmatrix}"


def gate_latex(trace, layer, direction, t, units=None, b=0, numbers=True):
    """[(title, LaTeX)]: each gate equation of step t with the actual numbers, then the state update
    (only the symbols with numbers=False, while a learner is still predicting).

    With at most 4 units, 4 input features and 4 state units the weight matrices are written out
    too; otherwise the input part W_i· x_t + b_i· and the hidden part W_h· h_(t-1) + b_h· are
    given as vectors over the chosen units.
    """
    s = trace.step(layer, direction, t, b)
    H = trace.hidden_size
    units = _units(trace, units, H)
    w = trace.weights(layer, direction)
    prev = "t+1" if direction else "t-1"
    full = len(units) == H <= SMALL and len(s.x) <= SMALL and len(s.h_prev) <= SMALL
    out = []
    for part in trace.gate_names or ("hidden",):
        sym = GATE_SYMBOLS.get(part, "h")
        rows = trace.gate_rows(part)
        a, h = s.from_input[part], s.from_hidden[part]
        if part == "hidden":
            fn, value, lhs = (r"\tanh" if trace.nonlinearity == "tanh" else r"\mathrm{relu}"), s.h, "h_t"
            names = ("ih", "hh")
        else:
            fn, value, lhs = (r"\tanh" if part in SQUASH else r"\sigma"), s.gates[part], f"{sym}_t"
            names = (f"i{sym}", f"h{sym}")
        inner = r"r_t \odot " if part == "new" else ""
        lines = [rf"{lhs} &= {fn}\left(W_{{{names[0]}}} x_t + b_{{{names[0]}}} + {inner}(W_{{{names[1]}}} h_{{{prev}}}"
                 rf" + b_{{{names[1]}}})\right)"]
        if not numbers:
            out.append((_title(part, sym), lines[0].replace("&=", "=")))
            continue
        if full:            # the input part and the hidden part, each worked out from its matrix
            W_i, W_h = w["weight_ih"][rows], w["weight_hh"][rows]
            b_i, b_h = w["bias_ih"][rows], w["bias_hh"][rows]
            lines.append(rf"W_{{{names[0]}}} x_t + b_{{{names[0]}}} &= {_mat(W_i)}{_col(s.x)} + {_col(b_i)}"
                         rf" = {_col(a)}")
            lines.append(rf"W_{{{names[1]}}} h_{{{prev}}} + b_{{{names[1]}}} &= {_mat(W_h)}{_col(s.h_prev)}"
                         rf" + {_col(b_h)} = {_col(h)}")
        if part == "new":
            r = s.gates["reset"]
            lines.append(rf"{lhs} &= \tanh\left({_col(a[units])} + {_col(r[units])} \odot {_col(h[units])}\right)"
                         rf" = \tanh {_col((a + r * h)[units])} = {_col(value[units])}")
        else:
            lines.append(rf"{lhs} &= {fn}\left({_col(a[units])} + {_col(h[units])}\right) = {fn} "
                         rf"{_col((a + h)[units])} = {_col(value[units])}")
        out.append((_title(part, sym), r"\begin{aligned}" + r" \\[8pt] ".join(lines) + r"\end{aligned}"))
    if not numbers:
        return out + _symbolic_updates(trace, prev)
    g = s.gates
    if trace.kind == "LSTM":
        f, i, c_gate, o = (g[n][units] for n in ("forget", "input", "cell", "output"))
        c_prev, c = s.c_prev[units], s.c[units]
        projected = s.h_unprojected is not None
        h_full = s.h_unprojected[units] if projected else s.h[units]
        out.append(("cell state c", rf"\begin{{aligned}} c_t &= f_t \odot c_{{{prev}}} + i_t \odot g_t = "
                    rf"{_col(f)} \odot {_col(c_prev)} + {_col(i)} \odot {_col(c_gate)} \\[4pt] "
                    rf"&= {_col(f * c_prev)} + {_col(i * c_gate)} = {_col(c)} \end{{aligned}}"))
        lhs = r"o_t \odot \tanh(c_t)" if projected else r"h_t = o_t \odot \tanh(c_t)"
        out.append(("hidden state h" + (", before the projection" if projected else ""),
                    rf"{lhs} = {_col(o)} \odot {_col(torch.tanh(c))} = {_col(h_full)}"))
        if projected:
            v = s.h_unprojected
            lhs = _mat(w["weight_hr"]) + _col(v) if (len(v) <= SMALL and len(s.h) <= SMALL) else r"W_{hr}\,(o_t \odot \tanh(c_t))"
            out.append(("projection", rf"h_t = W_{{hr}}\,(o_t \odot \tanh(c_t)) = {lhs} = {_col(s.h)}"))
    elif trace.kind == "GRU":
        z, n, h_prev = g["update"][units], g["new"][units], s.h_prev[units]
        out.append(("hidden state h: a blend", rf"\begin{{aligned}} h_t &= (1 - z_t) \odot n_t + z_t \odot h_{{{prev}}}"
                    rf" = {_col(1 - z)} \odot {_col(n)} + {_col(z)} \odot {_col(h_prev)} \\[4pt] "
                    rf"&= {_col((1 - z) * n)} + {_col(z * h_prev)} = {_col(s.h[units])} \end{{aligned}}"))
    return out


def _title(part, sym):
    return "hidden state" if part == "hidden" else f"{part} gate {sym}"


def _symbolic_updates(trace, prev):
    if trace.kind == "LSTM":
        out = [("cell state c", rf"c_t = f_t \odot c_{{{prev}}} + i_t \odot g_t"),
               ("hidden state h", r"h_t = o_t \odot \tanh(c_t)")]
        if trace.out_size != trace.hidden_size:
            out.append(("projection", r"h_t = W_{hr}\,(o_t \odot \tanh(c_t))"))
        return out
    if trace.kind == "GRU":
        return [("hidden state h: a blend", rf"h_t = (1 - z_t) \odot n_t + z_t \odot h_{{{prev}}}")]
    return []


def predictable(trace):
    """The values a learner may predict at a step: the gates, or h for an RNN."""
    return trace.gate_names or ("hidden",)


def worked_value(trace, layer, direction, t, name, unit, b=0):
    """One gate value (or an RNN's h_t) written out term by term.

    Returns (question, truth, markdown): e.g. "forget gate f[2] at t = 3", the module's value, and
    the sum of products, biases and squashing that give it.
    """
    if name not in predictable(trace):
        raise ExplorerError(f"A {trace.kind} has no {name!r} to predict; choose one of "
                            f"{', '.join(predictable(trace))}.")
    s = trace.step(layer, direction, t, b)
    _units(trace, [unit], trace.hidden_size)
    part = "hidden" if name == "hidden" else name
    rows = trace.gate_rows(part)
    w = trace.weights(layer, direction)
    w_ih, w_hh = w["weight_ih"][rows][unit], w["weight_hh"][rows][unit]
    b_ih, b_hh = float(w["bias_ih"][rows][unit]), float(w["bias_hh"][rows][unit])
    a, h = float(s.from_input[part][unit]), float(s.from_hidden[part][unit])
    sym = GATE_SYMBOLS.get(name, "h")
    prev = "t+1" if direction else "t-1"
    x_terms = _terms(w_ih, s.x, "x")
    h_terms = _terms(w_hh, s.h_prev, f"h_{prev}")
    if name == "hidden":
        truth = float(s.h[unit])
        fn = trace.nonlinearity
        question = f"h[{unit}] at t = {t}"
    else:
        truth = float(s.gates[name][unit])
        fn = SQUASH.get(name, "σ")
        question = f"{name} gate {sym}[{unit}] at t = {t}"
    lines = [f"**input part** W_i{sym}[{unit}] · x_t + b = {x_terms} + ({b_ih:.4g}) = **{a:.6g}**",
             f"**hidden part** W_h{sym}[{unit}] · h_{prev} + b = {h_terms} + ({b_hh:.4g}) = **{h:.6g}**"]
    if name == "new":
        r = float(s.gates["reset"][unit])
        pre = a + r * h
        lines.append(f"**{sym}** = tanh(input part + r · hidden part) = tanh({a:.6g} + {r:.4g} · {h:.6g}) "
                     f"= tanh({pre:.6g}) = **{truth:.6g}**")
    else:
        pre = a + h
        lines.append(f"**{sym}** = {fn}({a:.6g} + {h:.6g}) = {fn}({pre:.6g}) = **{truth:.6g}**")
    if fn == "σ":
        lines.append("σ(a) = 1 / (1 + e^(−a)): 0 closes the gate, 1 opens it.")
    return question, truth, "\n\n".join(lines)


def _terms(row, v, name):
    """'(w0)·(v0) + (w1)·(v1) + …' for a weight row and a vector, the first MAX_TERMS written out."""
    pairs = [f"({float(wi):.3g})·({float(vi):.3g})" for wi, vi in zip(row[:MAX_TERMS], v[:MAX_TERMS])]
    more = f" + … ({len(row) - MAX_TERMS} more)" if len(row) > MAX_TERMS else ""
    return " + ".join(pairs) + more if pairs else "0"


def _wide(values, prefix):
    """(T, U) -> a table with one row per step and one column per unit."""
    v = values.detach().double()
    return pd.DataFrame(v.numpy(), columns=[f"{prefix}[{u}]" for u in range(v.shape[1])]).rename_axis("t")


def export_tables(trace, layer, direction, t, units=None, b=0):
    """Everything the page shows, as named tables for one CSV: the input, the parameters, the
    output, this layer's states and gates over time, and the tables of step t."""
    x = trace.layer_input(0)[:, b]                                           # (T, F)
    frames = {"input x_t": _wide(x, "x"), "output": _wide(_output_rows(trace, b), "y")}
    tag = f"layer {layer} {'backward' if direction else 'forward'}"
    frames[f"h_t ({tag})"] = _wide(trace.hidden[layer, direction, :, b], "h")
    if trace.cell is not None:
        frames[f"c_t ({tag})"] = _wide(trace.cell[layer, direction, :, b], "c")
    for name in trace.gate_names:
        frames[f"{name} gate ({tag})"] = _wide(trace.gates[name][layer, direction, :, b], GATE_SYMBOLS[name])
    for title, df in gate_sections(trace, layer, direction, t, units, b):
        frames[f"step t={t}: {title} ({tag})"] = df.set_index("unit")
    frames["parameters"] = pd.concat([_long(name, p) for name, p in trace.module.named_parameters()])
    return frames


def _output_rows(trace, b):
    """The output of batch item b as (T, D*H_out), whatever batch_first says."""
    out = trace.output
    if trace.unbatched:
        return out
    return out[b] if trace.module.batch_first else out[:, b]


def _long(name, p):
    """A parameter as rows (name, row, column, value); column is empty for a bias."""
    v = p.detach().double()
    rows = torch.arange(v.shape[0]).repeat_interleave(v[0].numel())
    cols = torch.arange(v.shape[1]).repeat(v.shape[0]) if v.dim() == 2 else None
    return pd.DataFrame({"name": name, "row": rows.numpy(), "column": None if cols is None else cols.numpy(),
                         "value": v.flatten().numpy()}).set_index("name")


__all__ = ["gate_latex", "gate_sections", "predictable", "worked_value", "export_tables", "MAX_TERMS"]
