"""gradient_flow against Jacobians computed another way, a hand-worked RNN, the scaled layers, errors."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from explorer import ExplorerError
from explorer.examples.recurrent import make_recurrent, random_state
from explorer.recurrent_gradients import MAX_GRADIENT_STEPS, compare_gradient_flow, gradient_flow, scaled_recurrent


def _jacobian_norms(module, x, hx):
    """||∂h_T/∂h_t||_F by torch.autograd.functional.jacobian of "restart the module at step t+1 from
    state h (all layers), run to the end, return the top layer's last state"."""
    is_lstm = isinstance(module, nn.LSTM)
    L = module.num_layers
    P = module.proj_size or module.hidden_size
    batch_first = module.batch_first
    seq = x.unsqueeze(1)                                                     # (T, 1, F)
    run = (lambda s, state: module(s.transpose(0, 1) if batch_first else s, state))  # noqa: E731
    if hx is None:
        h = x.new_zeros(L, 1, P)
        state = (h, x.new_zeros(L, 1, module.hidden_size)) if is_lstm else h
    else:
        state = tuple(p.unsqueeze(1) for p in hx) if is_lstm else hx.unsqueeze(1)
    states = []
    with torch.no_grad():
        for t in range(len(x)):                                              # torch's own states at every step
            _, state = run(seq[t:t + 1], state)
            states.append(state)
    norms = []
    for t in range(len(x)):
        rest = seq[t + 1:]
        c_t = states[t][1] if is_lstm else None

        def h_T(h):
            if len(rest) == 0:
                return h[-1, 0]
            _, s = run(rest, (h, c_t) if is_lstm else h)
            return (s[0] if is_lstm else s)[-1, 0]
        h_t = states[t][0] if is_lstm else states[t]
        J = torch.autograd.functional.jacobian(h_T, h_t)                    # (P, L, 1, P)
        norms.append(float(J.double().norm()))
    return norms


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["RNN", "LSTM", "GRU"]), hidden=st.integers(1, 4), layers=st.integers(1, 2),
       T=st.integers(1, 7), batch_first=st.booleans(), with_hx=st.booleans(), seed=st.integers(0, 999),
       proj=st.booleans())
def test_norms_match_jacobians_of_the_module_restarted_at_each_step(kind, hidden, layers, T, batch_first,
                                                                    with_hx, seed, proj):
    proj_size = hidden - 1 if (proj and kind == "LSTM" and hidden > 1) else 0
    m = make_recurrent(kind, 2, hidden, num_layers=layers, batch_first=batch_first, proj_size=proj_size,
                       dtype=torch.float64, seed=seed)
    x = torch.randn(T, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    hx = random_state(m, None, seed) if with_hx else None
    flow = gradient_flow(m, x, hx)
    assert flow.kind == kind and flow.norms.dtype == torch.float64 and flow.norms.shape == (T,)
    assert flow.norms.tolist() == pytest.approx(_jacobian_norms(m, x, hx), rel=1e-9, abs=1e-12)


def test_relu_rnn_by_hand():
    # RNN(1, 1, relu, no bias), W_ih = 1, W_hh = 0.5, x = 1 at every step: every pre-activation is
    # positive, so ∂h_T/∂h_t = 0.5^(T-1-t): 1 for the last state, halving for each step back
    rnn = nn.RNN(1, 1, nonlinearity="relu", bias=False).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.fill_(0.5)
    flow = gradient_flow(rnn, torch.ones(6, 1, dtype=torch.float64), scale=0.5)
    assert flow.norms.tolist() == pytest.approx([0.5 ** k for k in (5, 4, 3, 2, 1, 0)], rel=1e-12)
    assert flow.steps_back.tolist() == [5, 4, 3, 2, 1, 0]
    assert flow.decay_per_step == pytest.approx(0.5, rel=1e-12)
    assert flow.scale == 0.5


def test_decay_of_a_single_step_or_a_dead_relu_is_not_a_number_or_zero():
    rnn = nn.RNN(1, 1, nonlinearity="relu", bias=False).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(-1.0)                                         # h stays 0: relu'(0) = 0
        rnn.weight_hh_l0.fill_(1.0)
    dead = gradient_flow(rnn, torch.ones(4, 1, dtype=torch.float64))
    assert dead.norms.tolist() == [0.0, 0.0, 0.0, 1.0] and dead.decay_per_step == 0.0
    one = gradient_flow(rnn, torch.ones(1, 1, dtype=torch.float64))
    assert one.norms.tolist() == [1.0] and one.decay_per_step != one.decay_per_step  # nan


def test_scaled_recurrent_blocks_are_scaled_orthogonal_matrices():
    H = 5
    for kind, blocks in (("RNN", 1), ("LSTM", 4), ("GRU", 3)):
        m = scaled_recurrent(kind, 0.7, hidden_size=H, seed=3, keep_bias=2.0)
        w = m.weight_hh_l0.detach()
        assert w.shape == (blocks * H, H)
        for k in range(blocks):
            q = w[k * H:(k + 1) * H] / 0.7
            assert torch.allclose(q.T @ q, torch.eye(H, dtype=torch.float64), atol=1e-12)
        plain = make_recurrent(kind, 1, H, dtype=torch.float64, seed=3)
        diff = (m.bias_ih_l0 - plain.bias_ih_l0).detach()
        expected = torch.zeros(blocks * H, dtype=torch.float64)
        if kind != "RNN":
            expected[H:2 * H] = 2.0                                          # LSTM forget rows, GRU update rows
        assert torch.allclose(diff, expected, atol=1e-12)


def test_small_weights_make_the_plain_rnn_gradient_vanish():
    # with ||W_hh||_2 = 0.25 and |tanh'| <= 1, ||∂h_T/∂h_t||_F <= sqrt(H) · 0.25^(T-1-t)
    flows = compare_gradient_flow(0.25, steps=30, hidden_size=16)
    rnn = flows["RNN"].norms
    bound = torch.tensor([4 * 0.25 ** k for k in range(29, -1, -1)], dtype=torch.float64)
    assert bool((rnn <= bound * (1 + 1e-9)).all())
    assert float(rnn[0]) < 1e-15


def test_an_open_forget_gate_carries_the_gradient_further_than_a_plain_rnn():
    flows = compare_gradient_flow(1.0, keep_bias=4.0, steps=40)
    assert set(flows) == {"RNN", "LSTM", "GRU"}
    assert float(flows["LSTM"].norms[0]) > 10 * float(flows["RNN"].norms[0])
    assert float(flows["GRU"].norms[0]) > 10 * float(flows["RNN"].norms[0])


def test_large_relu_weights_explode():
    rnn = nn.RNN(1, 2, nonlinearity="relu", bias=False).double()
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(1.0)
        rnn.weight_hh_l0.copy_(torch.eye(2, dtype=torch.float64) * 1.5)
    flow = gradient_flow(rnn, torch.ones(10, 1, dtype=torch.float64))
    # J = 1.5^k I_2, so ||J||_F = sqrt(2) · 1.5^k
    assert flow.norms.tolist() == pytest.approx([2 ** 0.5 * 1.5 ** k for k in range(9, -1, -1)], rel=1e-12)
    assert flow.decay_per_step == pytest.approx(1.5, rel=1e-12)


def test_gradient_flow_leaves_the_module_and_global_rng_alone():
    m = make_recurrent("LSTM", 1, 3, dtype=torch.float64, seed=1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    rng = torch.random.get_rng_state()
    gradient_flow(m, torch.ones(5, 1, dtype=torch.float64))
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert all(p.grad is None for p in m.parameters())
    assert torch.equal(rng, torch.random.get_rng_state())


@pytest.mark.parametrize("module, x, hx, message", [
    (nn.Linear(1, 1), torch.ones(3, 1), None, "gradient_flow takes one of RNN, LSTM, GRU"),
    (nn.GRU(1, 2, bidirectional=True), torch.ones(3, 1), None, "bidirectional=False"),
    (nn.GRU(1, 2), torch.ones(3, 1, 1), None, r"one sequence of shape \(T, 1\); got \(3, 1, 1\)"),
    (nn.GRU(1, 2), torch.ones(3, 2), None, r"got \(3, 2\)"),
    (nn.GRU(1, 2), torch.ones(0, 1), None, "has 0 steps"),
    (nn.GRU(1, 2), torch.ones(MAX_GRADIENT_STEPS + 1, 1), None, f"1 to {MAX_GRADIENT_STEPS}"),
    (nn.GRU(1, 2), torch.ones(3, 1, dtype=torch.float64), None, "convert one"),
    (nn.GRU(1, 2), [[1.0]], None, "must be a torch.Tensor"),
    (nn.GRU(1, 2, num_layers=2, dropout=0.5), torch.ones(3, 1), None, "module.eval()"),
    (nn.GRU(1, 2), torch.ones(3, 1), torch.zeros(2, 2), r"h_0 has shape \(2, 2\); for one sequence this layer "
                                                         r"expects \(1, 2\)"),
    (nn.LSTM(1, 2), torch.ones(3, 1), torch.zeros(1, 2), r"LSTM takes the pair \(h_0, c_0\)"),
    (nn.GRU(1, 2), torch.ones(3, 1), (torch.zeros(1, 2), torch.zeros(1, 2)), "RNN or GRU takes h_0 alone"),
    (nn.LSTM(1, 2), torch.ones(3, 1), (torch.zeros(1, 2), "c"), "initial state c_0 must be a torch.Tensor"),
])
def test_gradient_errors(module, x, hx, message):
    with pytest.raises(ExplorerError, match=message):
        gradient_flow(module, x, hx)


def test_scale_and_steps_errors():
    with pytest.raises(ExplorerError, match="must be a positive number; got 0"):
        scaled_recurrent("RNN", 0.0)
    with pytest.raises(ExplorerError, match="Unknown recurrent layer 'CNN'"):
        scaled_recurrent("CNN", 1.0)
    with pytest.raises(ExplorerError, match=f"Choose between 1 and {MAX_GRADIENT_STEPS} steps; got 0"):
        compare_gradient_flow(1.0, steps=0)
