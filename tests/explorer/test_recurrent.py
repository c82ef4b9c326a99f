"""trace_recurrent against real nn.RNN / nn.LSTM / nn.GRU modules, hand-worked LSTM and GRU cells,
and every error path.

The reference below never uses the trace's code: it rebuilds each layer and direction as its own
one-layer torch module, runs it one step at a time to get torch's own h_t and c_t, and derives the
gates from torch's states with torch ops. It checks its own gate equations against torch's next
states before the trace is compared with it.
"""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from explorer import ExplorerError, trace_recurrent
from explorer.examples.recurrent import make_recurrent

TOL = {torch.float32: 2e-5, torch.float64: 1e-10}
KINDS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


@st.composite
def setups(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    hidden = draw(st.integers(1, 5))
    kw = dict(num_layers=draw(st.integers(1, 3)), bidirectional=draw(st.booleans()),
              batch_first=draw(st.booleans()), bias=draw(st.booleans()))
    if kind == "RNN":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    if kind == "LSTM" and hidden > 1:
        kw["proj_size"] = draw(st.integers(0, hidden - 1))
    return dict(kind=kind, input_size=draw(st.integers(1, 4)), hidden=hidden, kw=kw,
                T=draw(st.integers(1, 6)), batch=draw(st.sampled_from([None, 1, 3])),
                with_hx=draw(st.booleans()), dtype=draw(st.sampled_from([torch.float32, torch.float64])),
                seed=draw(st.integers(0, 2**16)))


def _build(s):
    g = torch.Generator().manual_seed(s["seed"])
    m = KINDS[s["kind"]](s["input_size"], s["hidden"], **s["kw"]).to(s["dtype"])
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=s["dtype"]) * 0.7)
    B = s["batch"]
    time_major = (s["T"],) + ((B,) if B else ())
    shape = (B, s["T"]) if (B and m.batch_first) else time_major
    x = torch.randn(shape + (s["input_size"],), generator=g, dtype=s["dtype"])
    hx = None
    if s["with_hx"]:
        lead = (m.num_layers * (2 if m.bidirectional else 1),) + ((B,) if B else ())
        h0 = torch.randn(lead + (m.proj_size or m.hidden_size,), generator=g, dtype=s["dtype"])
        hx = (h0, torch.randn(lead + (m.hidden_size,), generator=g, dtype=s["dtype"])) if s["kind"] == "LSTM" else h0
    return m, x, hx


# -- an independent reference, built from torch's own step-by-step states -----------------------------

def _single(module, layer, direction, in_features):
    """The weights of one layer and direction as a one-layer, one-direction module of the same kind."""
    kind = type(module)
    kw = dict(bias=module.bias, dtype=module.weight_ih_l0.dtype)
    if kind is nn.RNN:
        kw["nonlinearity"] = module.nonlinearity
    if kind is nn.LSTM:
        kw["proj_size"] = module.proj_size
    one = kind(in_features, module.hidden_size, **kw)
    suffix = f"l{layer}" + ("_reverse" if direction else "")
    with torch.no_grad():
        for name, p in one.named_parameters():
            p.copy_(getattr(module, name.replace("l0", suffix)))
    return one


def _gates_from_torch(kind, one, x_t, h_prev):
    """The activated gates of one step, by torch ops on the module's parameters; x_t (B, F), h_prev (B, P)."""
    H = one.hidden_size
    a_x = x_t @ one.weight_ih_l0.T + (one.bias_ih_l0 if one.bias else 0)
    a_h = h_prev @ one.weight_hh_l0.T + (one.bias_hh_l0 if one.bias else 0)
    if kind == "LSTM":
        a = a_x + a_h
        return {"input": torch.sigmoid(a[:, :H]), "forget": torch.sigmoid(a[:, H:2 * H]),
                "cell": torch.tanh(a[:, 2 * H:3 * H]), "output": torch.sigmoid(a[:, 3 * H:])}
    if kind == "GRU":
        r = torch.sigmoid(a_x[:, :H] + a_h[:, :H])
        return {"reset": r, "update": torch.sigmoid(a_x[:, H:2 * H] + a_h[:, H:2 * H]),
                "new": torch.tanh(a_x[:, 2 * H:] + r * a_h[:, 2 * H:])}
    return {}


def reference(module, x, hx):
    """hidden, cell, gates in the trace's (L, D, T, B, U) layout, from torch modules run step by step."""
    kind = type(module).__name__
    unbatched = x.dim() == 2
    seq = x.unsqueeze(1) if unbatched else (x.transpose(0, 1) if module.batch_first else x)  # (T, B, F)
    T, B, _ = seq.shape
    L, D = module.num_layers, 2 if module.bidirectional else 1
    P = module.proj_size or module.hidden_size
    if hx is None:
        h0 = seq.new_zeros(L * D, B, P)
        c0 = seq.new_zeros(L * D, B, module.hidden_size)
    else:
        h0, c0 = hx if kind == "LSTM" else (hx, None)
        h0 = h0.reshape(L * D, B, -1)
        c0 = None if c0 is None else c0.reshape(L * D, B, -1)
    hidden, cell, gates = [], [], []
    layer_in = seq
    with torch.no_grad():
        for layer in range(L):
            hs, cs, gs = [], [], []
            for d in range(D):
                one = _single(module, layer, d, layer_in.shape[-1])
                steps = layer_in.flip(0) if d else layer_in
                state = (h0[layer * D + d:layer * D + d + 1], c0[layer * D + d:layer * D + d + 1]) \
                    if kind == "LSTM" else h0[layer * D + d:layer * D + d + 1]
                h_seq, c_seq, g_seq = [], [], []
                for t in range(T):
                    h_prev = state[0][0] if kind == "LSTM" else state[0]                # (B, P)
                    c_prev = state[1][0] if kind == "LSTM" else None
                    g = _gates_from_torch(kind, one, steps[t], h_prev)
                    _, state = one(steps[t:t + 1], state)
                    h_t = state[0][0] if kind == "LSTM" else state[0]
                    # the reference's own gate equations must give torch's next state
                    if kind == "LSTM":
                        c_t = state[1][0]
                        assert torch.allclose(c_t, g["forget"] * c_prev + g["input"] * g["cell"], atol=1e-5)
                        h_full = g["output"] * torch.tanh(c_t)
                        if one.proj_size:
                            h_full = h_full @ one.weight_hr_l0.T
                        assert torch.allclose(h_t, h_full, atol=1e-5)
                        c_seq.append(c_t)
                    if kind == "GRU":
                        blend = (1 - g["update"]) * g["new"] + g["update"] * h_prev
                        assert torch.allclose(h_t, blend, atol=1e-5)
                    h_seq.append(h_t)
                    g_seq.append(g)
                flip = (lambda v: v.flip(0)) if d else (lambda v: v)                     # noqa: E731
                hs.append(flip(torch.stack(h_seq)))                                         # (T, B, P)
                if kind == "LSTM":
                    cs.append(flip(torch.stack(c_seq)))
                gs.append({n: flip(torch.stack([g[n] for g in g_seq])) for n in g_seq[0]})
            hidden.append(torch.stack(hs))
            if cs:
                cell.append(torch.stack(cs))
            gates.append(gs)
            layer_in = torch.cat(hs, dim=-1)                                                # (T, B, D*P)
    names = gates[0][0].keys()
    stacked = {n: torch.stack([torch.stack([g[n] for g in gs]) for gs in gates]) for n in names}
    return torch.stack(hidden), (torch.stack(cell) if cell else None), stacked, layer_in


def _close(a, b, dtype, scale=1.0):
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype == dtype
    err = float((a - b).abs().max()) if a.numel() else 0.0
    assert err <= TOL[dtype] * max(1.0, scale), err


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_manual_states_and_gates_match_torch(s):
    m, x, hx = _build(s)
    t = trace_recurrent(m, x, hx)
    with torch.no_grad():
        out = m(x, hx)
    expected, state = out[0], out[1]
    h_n, c_n = state if s["kind"] == "LSTM" else (state, None)
    scale = float(expected.abs().max()) if expected.numel() else 1.0
    _close(t.output, expected, s["dtype"])
    _close(t.manual, expected, s["dtype"], scale)
    assert t.max_abs_error <= TOL[s["dtype"]] * max(1.0, scale)
    _close(t.h_n, h_n.detach(), s["dtype"])
    ours_h, ours_c = t.final_states()
    _close(ours_h, h_n.detach(), s["dtype"], scale)
    if s["kind"] == "LSTM":
        _close(t.c_n, c_n.detach(), s["dtype"])
        _close(ours_c, c_n.detach(), s["dtype"], float(c_n.detach().abs().max()))
    else:
        assert t.c_n is None and ours_c is None and t.cell is None
    assert t.state_error <= TOL[s["dtype"]] * max(1.0, scale, float(t.cell.abs().max()) if t.cell is not None else 0)

    hidden, cell, gates, top = reference(m, x, hx)
    ref_out = top.transpose(0, 1) if (m.batch_first and x.dim() == 3) else top
    assert torch.allclose(ref_out.reshape(expected.shape), expected, atol=1e-5)  # the reference is right
    _close(t.hidden, hidden, s["dtype"], float(hidden.abs().max()))
    if cell is not None:
        _close(t.cell, cell, s["dtype"], float(cell.abs().max()))
    assert sorted(t.gates) == sorted(gates)
    for name in gates:
        _close(t.gates[name], gates[name], s["dtype"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups(), st.data())
def test_step_holds_the_numbers_of_that_update(s, data):
    m, x, hx = _build(s)
    t = trace_recurrent(m, x, hx)
    layer = data.draw(st.integers(0, t.num_layers - 1))
    d = data.draw(st.integers(0, t.num_directions - 1))
    step = data.draw(st.integers(0, t.seq_len - 1))
    b = data.draw(st.integers(0, t.batch - 1))
    cs = t.step(layer, d, step, b)
    w = t.weights(layer, d)
    tol = TOL[s["dtype"]] * 10
    # the pre-activations split into input and hidden parts, recomputed from the named weights
    for part, rows in ((p, t.gate_rows(p)) for p in cs.from_input):
        assert torch.allclose(cs.from_input[part], w["weight_ih"][rows] @ cs.x + w["bias_ih"][rows], atol=tol)
        assert torch.allclose(cs.from_hidden[part], w["weight_hh"][rows] @ cs.h_prev + w["bias_hh"][rows], atol=tol)
    # h_prev is the state of the neighbouring step in this direction's reading order (or h_0)
    first = step == (0 if d == 0 else t.seq_len - 1)
    expected_prev = t.h0[layer, d, b] if first else t.hidden[layer, d, step - 1 if d == 0 else step + 1, b]
    assert torch.equal(cs.h_prev, expected_prev)
    assert torch.equal(cs.h, t.hidden[layer, d, step, b])
    if s["kind"] == "RNN":
        act = torch.tanh if m.nonlinearity == "tanh" else torch.relu
        assert torch.allclose(cs.h, act(cs.from_input["hidden"] + cs.from_hidden["hidden"]), atol=tol)
        assert cs.gates == {}
    elif s["kind"] == "LSTM":
        assert torch.allclose(cs.c, cs.gates["forget"] * cs.c_prev + cs.gates["input"] * cs.gates["cell"], atol=tol)
        if m.proj_size:
            assert torch.allclose(cs.h_unprojected, cs.gates["output"] * torch.tanh(cs.c), atol=tol)
            assert torch.allclose(cs.h, w["weight_hr"] @ cs.h_unprojected, atol=tol)
        else:
            assert cs.h_unprojected is None
    else:
        z, n = cs.gates["update"], cs.gates["new"]
        assert torch.allclose(cs.h, (1 - z) * n + z * cs.h_prev, atol=tol)


# -- hand-worked cells ---------------------------------------------------------------------------------
LN3 = math.log(3.0)   # σ(ln 3) = 3/4, σ(-ln 3) = 1/4, tanh(ln 3 / 2) = 1/2


def _f64(values):
    return torch.tensor(values, dtype=torch.float64)


def _hand_lstm():
    """LSTM(1, 1), rows [i | f | g | o]: W_ih = [ln 3, 0, ln3 / 2, 0], W_hh = [0, 0, 0, 2],
    b_ih = [0, -ln 3, 0, 0], b_hh = 0."""
    lstm = nn.LSTM(1, 1).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(_f64([[LN3], [0.0], [LN3 / 2], [0.0]]))
        lstm.weight_hh_l0.copy_(_f64([[0.0], [0.0], [0.0], [2.0]]))
        lstm.bias_ih_l0.copy_(_f64([0.0, -LN3, 0.0, 0.0]))
        lstm.bias_hh_l0.zero_()
    return lstm


def test_hand_set_lstm_gates():
    t = trace_recurrent(_hand_lstm(), torch.tensor([[1.0], [0.0]], dtype=torch.float64))
    g = {n: t.gates[n][0, 0, :, 0, 0].tolist() for n in t.gate_names}
    # step 0: x = 1, h = c = 0: i = σ(ln 3) = 3/4, f = σ(-ln 3) = 1/4, g = tanh(ln3/2) = 1/2, o = σ(0) = 1/2
    # c_0 = 1/4 · 0 + 3/4 · 1/2 = 3/8, h_0 = 1/2 · tanh(3/8)
    h0 = 0.5 * math.tanh(3 / 8)
    # step 1: x = 0: i = σ(0) = 1/2, f = 1/4, g = tanh(0) = 0, o = σ(2 h_0)
    # c_1 = 1/4 · 3/8 + 1/2 · 0 = 3/32, h_1 = o · tanh(3/32)
    o1 = 1 / (1 + math.exp(-2 * h0))
    expected = {"input": [0.75, 0.5], "forget": [0.25, 0.25], "cell": [0.5, 0.0], "output": [0.5, o1]}
    for name, values in expected.items():
        assert g[name] == pytest.approx(values, abs=1e-12), name
    assert t.cell[0, 0, :, 0, 0].tolist() == pytest.approx([3 / 8, 3 / 32], abs=1e-12)
    assert t.hidden[0, 0, :, 0, 0].tolist() == pytest.approx([h0, o1 * math.tanh(3 / 32)], abs=1e-12)
    assert t.h_n.shape == t.c_n.shape == (1, 1)
    assert t.h_n.flatten().tolist() == pytest.approx([o1 * math.tanh(3 / 32)], abs=1e-12)
    assert t.c_n.flatten().tolist() == pytest.approx([3 / 32], abs=1e-12)
    step = t.step(0, 0, 1)
    assert step.from_hidden["output"].tolist() == pytest.approx([2 * h0], abs=1e-12)
    assert step.from_input["forget"].tolist() == pytest.approx([-LN3], abs=1e-12)


def test_hand_set_gru_blends_old_state_and_candidate():
    # GRU(1, 1), rows [r | z | n]: W_ih = [0, 0, ln 3 / 2], W_hh = [0, 0, 1], b_ih = [0, ln 3, 0],
    # b_hh = [ln 3, 0, 0]; start from h_0 = 1
    gru = nn.GRU(1, 1).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(_f64([[0.0], [0.0], [LN3 / 2]]))
        gru.weight_hh_l0.copy_(_f64([[0.0], [0.0], [1.0]]))
        gru.bias_ih_l0.copy_(_f64([0.0, LN3, 0.0]))
        gru.bias_hh_l0.copy_(_f64([LN3, 0.0, 0.0]))
    t = trace_recurrent(gru, torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[1.0]], dtype=torch.float64))
    # r = σ(ln 3) = 3/4, z = σ(ln 3) = 3/4, n = tanh(ln3/2 + 3/4 · (1 · 1)), h = 1/4 · n + 3/4 · 1
    n = math.tanh(LN3 / 2 + 0.75)
    assert t.gates["reset"].flatten().tolist() == pytest.approx([0.75], abs=1e-12)
    assert t.gates["update"].flatten().tolist() == pytest.approx([0.75], abs=1e-12)
    assert t.gates["new"].flatten().tolist() == pytest.approx([n], abs=1e-12)
    assert t.output.flatten().tolist() == pytest.approx([0.25 * n + 0.75], abs=1e-12)


def test_hand_set_relu_rnn():
    # RNN(2, 1, relu): h_t = max(0, x_t · [1, -1] + 0.5 h_(t-1)), biases 0
    rnn = nn.RNN(2, 1, nonlinearity="relu", bias=False).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor([[1.0, -1.0]]))
        rnn.weight_hh_l0.copy_(torch.tensor([[0.5]]))
    x = torch.tensor([[3.0, 1.0], [0.0, 0.0], [0.0, 5.0]], dtype=torch.float64)
    t = trace_recurrent(rnn, x)
    assert t.hidden.flatten().tolist() == [2.0, 1.0, 0.0]   # 3-1 = 2; 0.5·2 = 1; max(0, -5 + 0.5) = 0
    assert t.gates == {} and t.gate_names == ()


def test_bidirectional_backward_direction_reads_from_the_end():
    # RNN(1, 1, relu, no bias), both directions W_ih = 1, W_hh = 1: a running sum from either end
    rnn = nn.RNN(1, 1, nonlinearity="relu", bias=False, bidirectional=True).double()
    with torch.no_grad():
        for p in rnn.parameters():
            p.fill_(1.0)
    t = trace_recurrent(rnn, torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64))
    assert t.hidden[0, 0, :, 0, 0].tolist() == [1.0, 3.0, 6.0]
    assert t.hidden[0, 1, :, 0, 0].tolist() == [6.0, 5.0, 3.0]
    assert t.output.tolist() == [[1.0, 6.0], [3.0, 5.0], [6.0, 3.0]]
    assert t.h_n.flatten().tolist() == [6.0, 6.0]            # forward ends at t = 2, backward at t = 0
    assert t.previous_hidden(0, 1)[:, 0, 0].tolist() == [5.0, 3.0, 0.0]
    assert t.layer_input(0)[:, 0, 0].tolist() == [1.0, 2.0, 3.0]


def test_layer_input_above_the_first_layer_concatenates_both_directions():
    m = make_recurrent("GRU", 2, 3, num_layers=2, bidirectional=True, seed=4)
    t = trace_recurrent(m, torch.randn(4, 2, generator=torch.Generator().manual_seed(0)))
    above = t.layer_input(1)                                   # (T, B, 2 * 3)
    assert above.shape == (4, 1, 6)
    assert torch.equal(above[:, 0, :3], t.hidden[0, 0, :, 0]) and torch.equal(above[:, 0, 3:], t.hidden[0, 1, :, 0])


def test_gate_rows_follow_torchs_order():
    t = trace_recurrent(make_recurrent("LSTM", 1, 3), torch.ones(2, 1))
    assert [t.gate_rows(n) for n in ("input", "forget", "cell", "output")] == \
        [slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 12)]
    g = trace_recurrent(make_recurrent("GRU", 1, 2), torch.ones(2, 1))
    assert g.gate_rows("new") == slice(4, 6)


def test_trace_leaves_the_module_and_global_rng_alone():
    m = make_recurrent("LSTM", 2, 3, num_layers=2, seed=1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    rng = torch.random.get_rng_state()
    trace_recurrent(m, torch.ones(3, 2))
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert torch.equal(rng, torch.random.get_rng_state())


def test_dropout_in_eval_mode_is_traced_and_changes_nothing():
    m = make_recurrent("GRU", 2, 3, num_layers=2, dropout=0.5, seed=2).eval()
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    t = trace_recurrent(m, x)
    assert t.max_abs_error < 1e-5
    m.dropout = 0.0
    assert torch.allclose(t.output, m(x)[0].detach())


def test_subclass_of_a_recurrent_layer_is_accepted():
    class MyLSTM(nn.LSTM):
        pass
    t = trace_recurrent(MyLSTM(2, 2), torch.ones(3, 2))
    assert t.kind == "LSTM" and t.max_abs_error < 1e-5


def test_unbatched_input_has_unbatched_outputs():
    m = make_recurrent("LSTM", 2, 4, proj_size=2, bidirectional=True)
    t = trace_recurrent(m, torch.ones(3, 2))
    assert t.output.shape == (3, 4) and t.h_n.shape == (2, 2) and t.c_n.shape == (2, 4)
    assert t.hidden.shape == (1, 2, 3, 1, 2) and t.cell.shape == (1, 2, 3, 1, 4)
    assert t.unbatched and t.out_size == 2 and t.hidden_size == 4


# -- errors ---------------------------------------------------------------------------------------------

def _lstm():
    return make_recurrent("LSTM", 2, 3)


@pytest.mark.parametrize("module, x, hx, message", [
    (nn.Linear(2, 3), torch.ones(3, 2), None, "trace_recurrent takes one of RNN, LSTM, GRU; got Linear"),
    (_lstm(), [[1.0, 2.0]], None, "must be a torch.Tensor; got list"),
    (_lstm(), torch.ones(3, 2, dtype=torch.long), None, "floating-point"),
    (_lstm(), torch.tensor([[1.0, float("nan")]]), None, "NaN or infinity"),
    (_lstm(), torch.ones(3, 2, dtype=torch.float64), None, "parameters are torch.float32"),
    (_lstm().half(), torch.ones(3, 2, dtype=torch.float16), None, "float32 or float64"),
    (_lstm(), torch.ones(3), None, "expects 3 dims"),
    (_lstm(), torch.ones(1, 3, 2, 2), None, "expects 3 dims"),
    (_lstm(), torch.ones(3, 5), None, "has 5 features but the layer expects input_size = 2"),
    (_lstm(), torch.ones(0, 2), None, "at least one time step"),
    (_lstm(), torch.ones(3, 0, 2), None, "at least one time step"),
    (_lstm(), torch.ones(3, 2), torch.zeros(1, 3), r"pair \(h_0, c_0\) of tensors; got Tensor"),
    (make_recurrent("GRU", 2, 3), torch.ones(3, 2), (torch.zeros(1, 3), torch.zeros(1, 3)), "not a pair"),
    (make_recurrent("GRU", 2, 3), torch.ones(3, 1, 2), torch.zeros(1, 2, 3), r"expects \(1, 1, 3\)"),
    (make_recurrent("LSTM", 2, 3, proj_size=2), torch.ones(3, 2), (torch.zeros(1, 3), torch.zeros(1, 3)),
     "proj_size = 2"),
    (_lstm(), torch.ones(3, 2), (torch.zeros(1, 3), torch.zeros(1, 4)), "hidden_size = 3"),
    (_lstm(), torch.ones(3, 2), (torch.zeros(1, 3), "c"), "initial state c_0 must be a torch.Tensor"),
    (_lstm(), torch.ones(3, 2), (torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 3)), "convert one"),
    (make_recurrent("RNN", 2, 3, num_layers=2, dropout=0.3).train(), torch.ones(3, 2), None, "module.eval()"),
])
def test_errors_say_what_to_change(module, x, hx, message):
    with pytest.raises(ExplorerError, match=message):
        trace_recurrent(module, x, hx)


def test_a_forward_that_torch_rejects_is_reported():
    class Broken(nn.GRU):
        def forward(self, x, hx=None):
            raise RuntimeError("something inside torch")
    with pytest.raises(ExplorerError, match="PyTorch rejected this layer and input: something inside torch"):
        trace_recurrent(Broken(1, 1), torch.ones(2, 1))


def test_out_of_range_selections():
    t = trace_recurrent(make_recurrent("LSTM", 1, 2, num_layers=2), torch.ones(3, 1))
    for args, message in (((2, 0, 0), "Layer 2 is out of range: it must be between 0 and 1"),
                          ((0, 1, 0), "Direction 1 is out of range: it must be between 0 and 0"),
                          ((0, 0, 3), "Step 3 is out of range"), ((0, 0, -1), "Step -1 is out of range")):
        with pytest.raises(ExplorerError, match=message):
            t.step(*args)
    with pytest.raises(ExplorerError, match="Batch index 1"):
        t.step(0, 0, 0, 1)
    with pytest.raises(ExplorerError, match="Layer 5"):
        t.weights(5, 0)
    with pytest.raises(ExplorerError, match="no gate called 'reset'; its parts are input, forget, cell, output"):
        t.gate_rows("reset")
