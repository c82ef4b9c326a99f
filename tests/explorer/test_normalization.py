"""trace_norm against the real torch modules, hand-worked examples, every error path, and the
Normalization page's presets and seed-notes mistakes."""
import copy
import math
import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from explorer import ExplorerError
from explorer.examples import normalization as ex
from explorer.normalization import trace_norm

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


@st.composite
def norm_setups(draw):
    """A random normalization layer with random parameters and running stats, and an input it accepts."""
    kind = draw(st.sampled_from(["bn1d", "bn2d", "bn3d", "ln", "in1d", "in2d", "in3d", "gn", "rms"]))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    momentum = draw(st.sampled_from([0.1, 0.5, 1.0, None]))
    train = draw(st.booleans())
    if kind == "bn1d":
        shape = draw(st.sampled_from([(n, c), (n, c, draw(st.integers(1, 5)))]))
        m = nn.BatchNorm1d(c, eps=eps, momentum=momentum, affine=draw(st.booleans()), bias=draw(st.booleans()),
                           track_running_stats=draw(st.booleans()))
    elif kind == "bn2d":
        shape = (n, c, draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        m = nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=draw(st.booleans()), bias=draw(st.booleans()),
                           track_running_stats=draw(st.booleans()))
    elif kind == "bn3d":
        shape = (n, c) + tuple(draw(st.integers(1, 3)) for _ in range(3))
        m = nn.BatchNorm3d(c, eps=eps, momentum=momentum, affine=draw(st.booleans()),
                           track_running_stats=draw(st.booleans()))
    elif kind in ("in1d", "in2d", "in3d"):
        dims = {"in1d": 1, "in2d": 2, "in3d": 3}[kind]
        spatial = tuple(draw(st.integers(2, 5 if dims < 3 else 3)) for _ in range(dims))
        shape = draw(st.sampled_from([(n, c) + spatial, (c,) + spatial]))  # batched or not
        cls = {"in1d": nn.InstanceNorm1d, "in2d": nn.InstanceNorm2d, "in3d": nn.InstanceNorm3d}[kind]
        m = cls(c, eps=eps, momentum=momentum, affine=draw(st.booleans()), bias=draw(st.booleans()),
                track_running_stats=draw(st.booleans()))
    elif kind == "gn":
        g = draw(st.integers(1, 3))
        shape = (n, g * c) + tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
        m = nn.GroupNorm(g, g * c, eps=eps, affine=draw(st.booleans()), bias=draw(st.booleans()))
    else:
        lead = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
        normalized = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 2))))
        shape = lead + normalized
        if kind == "ln":
            m = nn.LayerNorm(normalized, eps=eps, elementwise_affine=draw(st.booleans()), bias=draw(st.booleans()))
        else:
            m = nn.RMSNorm(normalized, eps=draw(st.sampled_from([None, 1e-5, 0.1])),
                           elementwise_affine=draw(st.booleans()))
    return m.to(dtype).train(train), shape, dtype, draw(st.integers(0, 2**16))


def _build(setup):
    m, shape, dtype, seed = setup
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype))
        if getattr(m, "running_mean", None) is not None:
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g, dtype=dtype))
            m.running_var.copy_(0.2 + torch.rand(m.running_var.shape, generator=g, dtype=dtype))
            m.num_batches_tracked.fill_(int(torch.randint(0, 5, (), generator=g)))
    x = 2 * torch.randn(shape, generator=g, dtype=dtype) + torch.randn((), generator=g, dtype=dtype)
    return m, x


def _torch_accepts(m, x):
    try:
        copy.deepcopy(m)(x)
    except (RuntimeError, ValueError):
        return False
    return True


def _tolerance(t):
    """Rounding of x - mean grows by 1/std and by |gamma|: scale the dtype's tolerance by both."""
    gamma, beta = t.affine()
    spread = (float(t.x.abs().max()) + float(t.mean.abs().max())) / float(t.std.min())
    return TOL[t.x.dtype] * (max(1.0, spread) * max(1.0, float(gamma.abs().max())) + float(beta.abs().max()))


def _independent_stats(t):
    """mean and biased var from torch.var_mean (Welford), over the dims the layer should reduce."""
    x = t.x
    if t.kind == "group":
        var, mean = torch.var_mean(x.reshape(x.shape[0], t.num_groups, -1), dim=2, correction=0)
        return mean, var
    if t.kind == "rms":
        return torch.zeros_like(t.var), (x * x).mean(dim=t.reduced_dims, keepdim=True)
    var, mean = torch.var_mean(x, dim=t.reduced_dims, keepdim=True, correction=0)
    return mean, var


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(norm_setups())
def test_trace_matches_a_copy_of_the_module_run_by_torch(setup):
    m, x = _build(setup)
    if not _torch_accepts(m, x):
        with pytest.raises(ExplorerError):
            trace_norm(m, x)
        return
    reference = copy.deepcopy(m)
    plain = copy.deepcopy(m)  # gamma = 1, beta = 0: its output is the normalized x
    with torch.no_grad():
        for name, p in plain.named_parameters():
            p.fill_(1.0 if name == "weight" else 0.0)
    params_before = [p.detach().clone() for p in m.parameters()]
    buffers_before = [b.clone() for b in m.buffers()]
    t = trace_norm(m, x)
    with torch.no_grad():
        expected = reference(x)

    tol = _tolerance(t)
    assert t.manual.dtype == t.output.dtype == x.dtype and t.manual.shape == x.shape
    assert torch.equal(t.output, expected)
    assert float((t.manual - expected).abs().max()) <= tol
    assert t.max_abs_error == pytest.approx(float((t.output - t.manual).abs().max()), abs=1e-12)

    # the module changed exactly as torch's own forward changed the reference, and only then
    for p, q in zip(m.parameters(), params_before):
        assert torch.equal(p, q)
    for b, r in zip(m.buffers(), reference.buffers()):
        assert torch.equal(b, r)
    if not m.training:
        for b, q in zip(m.buffers(), buffers_before):
            assert torch.equal(b, q)

    # running stats: our written-out update against torch's buffers
    if getattr(m, "running_mean", None) is None:
        assert t.running_mean_before is t.running_mean_after is t.running_var_after is None
    else:
        assert torch.equal(t.running_mean_before, buffers_before[0])
        assert torch.allclose(t.running_mean_after, reference.running_mean, rtol=TOL[x.dtype], atol=TOL[x.dtype])
        assert torch.allclose(t.running_var_after, reference.running_var, rtol=TOL[x.dtype], atol=TOL[x.dtype])
        assert t.num_batches_tracked_after == int(reference.num_batches_tracked)
        assert t.running_error <= 10 * TOL[x.dtype] * (1 + float(reference.running_var.abs().max()))

    # the statistics themselves, from an independent implementation (or the buffers in eval mode)
    if t.uses_batch_stats:
        mean, var = _independent_stats(t)
        scale = 1 + float(x.abs().max()) ** 2
        assert torch.allclose(t.mean, mean, atol=TOL[x.dtype] * scale, rtol=0)
        assert torch.allclose(t.var, var, atol=TOL[x.dtype] * scale, rtol=0)
        assert int((t.group_ids() == 0).sum()) == t.count
    else:
        assert torch.equal(t.mean.flatten(), buffers_before[0]) and torch.equal(t.var.flatten(), buffers_before[1])

    with torch.no_grad():
        assert float((plain(x) - t.normalized).abs().max()) <= tol

    # every cell's statistic is the one its group id names
    assert torch.equal(t.expand(t.mean), t.mean.flatten()[t.group_ids()])
    assert len(t.group_labels()) == t.mean.numel() == int(t.group_ids().max()) + 1

    # the math panel's numbers for one cell are the trace's, and its group's values give its statistics
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(setup[3] % x.numel()), x.shape))
    c = t.cell(index)
    assert (c.x, c.normalized, c.output, c.manual) == (float(x[index]), float(t.normalized[index]),
                                                       float(t.output[index]), float(t.manual[index]))
    assert c.std == pytest.approx(math.sqrt(c.var + c.eps), rel=1e-6)
    assert abs(c.manual - (c.gamma * c.normalized + c.beta)) <= tol
    if t.uses_batch_stats:
        assert c.count == len(c.members) == t.count and float(x[index]) in c.members.tolist()
        scale = 1 + float(x.abs().max()) ** 2
        assert c.total / c.count == pytest.approx(c.mean if c.centred else float(c.members.mean()),
                                                  abs=TOL[x.dtype] * scale)
        assert c.squares / c.count == pytest.approx(c.var, abs=TOL[x.dtype] * scale)
    else:
        assert c.members is None and c.mean == float(t.running_mean_before[c.channel])
        assert c.own_mean == pytest.approx(float(t.batch_mean.expand(x.shape)[index]))
    if t.update_factor is not None:
        assert c.running_mean_after == pytest.approx(float(reference.running_mean[c.channel]),
                                                     abs=10 * TOL[x.dtype] * scale)
        m = t.update_factor
        assert c.running_var_after == pytest.approx((1 - m) * c.running_var_before + m * c.new_var, rel=1e-5)


def test_layernorm_hand_worked():
    # x = [[1, 2, 3], [4, 5, 6]]: row means 2 and 5; deviations -1, 0, 1 in both rows, so the
    # biased variance is (1 + 0 + 1) / 3 = 2/3. normalized = [-1, 0, 1] / sqrt(2/3 + eps) ~ [-1.2247, 0, 1.2247]
    # output = normalized * [1, 2, 3] + [-1, -2, -3] = [-1.2247 - 1, -2, 3 * 1.2247 - 3] ~ [-2.2247, -2, 0.6742]
    m = nn.LayerNorm(3).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        m.bias.copy_(torch.tensor([-1.0, -2.0, -3.0]))
    t = trace_norm(m, torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64))
    a = 1 / math.sqrt(2 / 3 + 1e-5)
    assert t.mean.flatten().tolist() == [2.0, 5.0]
    assert t.var.flatten().tolist() == pytest.approx([2 / 3, 2 / 3], abs=1e-15)
    assert t.reduced_dims == (1,) and t.count == 3
    assert t.normalized[0].tolist() == pytest.approx([-a, 0.0, a], abs=1e-12)
    assert t.manual[1].tolist() == pytest.approx([-a - 1, -2.0, 3 * a - 3], abs=1e-12)
    assert t.max_abs_error < 1e-12


def test_batchnorm_train_step_updates_running_stats_with_the_unbiased_variance():
    # one channel, batch [1, 3]: mean 2, biased var 1 (used to normalize), unbiased var 2 (for running_var)
    # running_mean = 0.9 * 0 + 0.1 * 2 = 0.2; running_var = 0.9 * 1 + 0.1 * 2 = 1.1
    m = nn.BatchNorm1d(1).double()
    t = trace_norm(m, torch.tensor([[1.0], [3.0]], dtype=torch.float64))
    assert t.mean.item() == 2.0 and t.var.item() == 1.0 and t.unbiased_var.item() == 2.0
    assert t.normalized.flatten().tolist() == pytest.approx([-1 / math.sqrt(1 + 1e-5), 1 / math.sqrt(1 + 1e-5)])
    assert t.running_mean_before.item() == 0.0 and t.running_var_before.item() == 1.0
    assert t.running_mean_after.item() == pytest.approx(0.2) and t.running_var_after.item() == pytest.approx(1.1)
    assert m.running_mean.item() == pytest.approx(0.2) and m.running_var.item() == pytest.approx(1.1)
    assert (t.num_batches_tracked_before, t.num_batches_tracked_after, t.update_factor) == (0, 1, 0.1)


def test_batchnorm_momentum_none_is_a_cumulative_average():
    # batch 1 [1, 3]: mean 2, unbiased var 2, weight 1/1 -> running (2, 2)
    # batch 2 [5, 9]: mean 7, unbiased var 8, weight 1/2 -> running ((2 + 7) / 2, (2 + 8) / 2) = (4.5, 5)
    m = nn.BatchNorm1d(1, momentum=None).double()
    trace_norm(m, torch.tensor([[1.0], [3.0]], dtype=torch.float64))
    t = trace_norm(m, torch.tensor([[5.0], [9.0]], dtype=torch.float64))
    assert t.update_factor == 0.5
    assert t.running_mean_after.item() == pytest.approx(4.5) and t.running_var_after.item() == pytest.approx(5.0)
    assert m.running_mean.item() == pytest.approx(4.5) and int(m.num_batches_tracked) == 2


def test_batchnorm_eval_uses_running_stats_and_changes_nothing():
    # running mean 1, running var 4: (3 - 1) / sqrt(4 + eps) ~ 1 and (5 - 1) / sqrt(4 + eps) ~ 2
    m = nn.BatchNorm1d(1).double().eval()
    m.running_mean.fill_(1.0)
    m.running_var.fill_(4.0)
    state = copy.deepcopy(m.state_dict())
    t = trace_norm(m, torch.tensor([[3.0], [5.0]], dtype=torch.float64))
    assert not t.uses_batch_stats and t.update_factor is None
    assert t.normalized.flatten().tolist() == pytest.approx([2 / math.sqrt(4 + 1e-5), 4 / math.sqrt(4 + 1e-5)])
    assert t.batch_mean.item() == 4.0 and t.mean.item() == 1.0
    assert all(torch.equal(v, state[k]) for k, v in m.state_dict().items())
    assert "eval mode, running statistics" in t.title


def test_groupnorm_instancenorm_rmsnorm_hand_worked():
    # GroupNorm(2, 4) on 0..7 as (1, 4, 2): group 0 = channels 0, 1 = [0, 1, 2, 3] (mean 1.5, var 1.25),
    # group 1 = [4, 5, 6, 7] (mean 5.5, var 1.25)
    t = trace_norm(nn.GroupNorm(2, 4).double(), torch.arange(8.0, dtype=torch.float64).view(1, 4, 2))
    assert t.mean.tolist() == [[1.5, 5.5]] and t.var.tolist() == [[1.25, 1.25]] and t.count == 4
    assert t.group_ids().flatten().tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # unbatched InstanceNorm1d: rows [1, 3] and [2, 6] -> means 2 and 4, variances 1 and 4
    t = trace_norm(nn.InstanceNorm1d(2).double(), torch.tensor([[1.0, 3.0], [2.0, 6.0]], dtype=torch.float64))
    assert t.unbatched and t.mean.flatten().tolist() == [2.0, 4.0] and t.var.flatten().tolist() == [1.0, 4.0]
    # RMSNorm [3, 4]: mean square (9 + 16) / 2 = 12.5, eps None -> float64's machine epsilon
    t = trace_norm(nn.RMSNorm(2).double(), torch.tensor([[3.0, 4.0]], dtype=torch.float64))
    assert t.eps == torch.finfo(torch.float64).eps and t.var.item() == 12.5
    assert t.output.flatten().tolist() == pytest.approx([3 / math.sqrt(12.5), 4 / math.sqrt(12.5)], abs=1e-12)


@pytest.mark.parametrize("module, x, message", [
    (nn.Linear(3, 3), torch.zeros(2, 3), "trace_norm takes one of"),
    (nn.LayerNorm(3), [[1.0, 2.0, 3.0]], "must be a torch.Tensor"),
    (nn.LayerNorm(3), torch.ones(2, 3, dtype=torch.int64), "floating-point"),
    (nn.LayerNorm(3), torch.tensor([[1.0, float("nan"), 3.0]]), "NaN or infinity"),
    (nn.LayerNorm(2, elementwise_affine=False), torch.tensor([[1e30, -1e30]]), "too large"),
    (nn.LayerNorm(3), torch.zeros(2, 3, dtype=torch.float64), "convert one of them"),
    (nn.BatchNorm1d(3, affine=False), torch.zeros(2, 3, dtype=torch.float64), "running_mean"),
    (nn.LayerNorm(3), torch.zeros(0, 3), "empty"),
    (nn.BatchNorm2d(4), torch.zeros(2, 3, 5, 5), "Input has 3 channels but the layer expects 4"),
    (nn.BatchNorm2d(3), torch.zeros(3, 5, 5), "expects an input of shape (N, C, H, W)"),
    (nn.BatchNorm1d(3), torch.zeros(2, 3, 4, 4), "(N, C) or (N, C, L)"),
    (nn.BatchNorm1d(3), torch.zeros(1, 3), "Expected more than 1 value per channel when training"),
    (nn.BatchNorm1d(3, track_running_stats=False).eval(), torch.zeros(1, 3), "track_running_stats=True"),
    (nn.LayerNorm([3, 4]), torch.zeros(2, 4, 3), "normalized_shape (3, 4)"),
    (nn.RMSNorm([2, 3]), torch.zeros(3), "must end with (2, 3)"),
    (nn.InstanceNorm1d(3), torch.zeros(3), "or without the batch dim"),
    (nn.InstanceNorm1d(3), torch.zeros(2, 3, 1), "Expected more than 1 spatial element"),
    (nn.InstanceNorm2d(3, affine=True), torch.zeros(2, 4, 3, 3), "Input has 4 channels but the layer expects 3"),
    (nn.GroupNorm(2, 4), torch.zeros(4), "(N, C, ...)"),
    (nn.GroupNorm(2, 4), torch.zeros(2, 6, 3), "Input has 6 channels but the layer expects 4"),
    (nn.GroupNorm(3, 3), torch.zeros(1, 3), "single value"),
])
def test_every_error_is_a_sentence_and_leaves_the_module_alone(module, x, message):
    state = copy.deepcopy(module.state_dict())
    with pytest.raises(ExplorerError) as err:
        trace_norm(module, x)
    assert message in str(err.value)
    assert all(torch.equal(v, state[k]) for k, v in module.state_dict().items())


def test_cell_worked_by_hand_in_train_and_eval_mode():
    # BatchNorm1d(1) on the batch [1, 3, 8]: mean 4, biased var (9 + 1 + 16) / 3 = 26/3, unbiased 13
    m = nn.BatchNorm1d(1, momentum=0.5).double()
    with torch.no_grad():
        m.weight.fill_(2.0)
        m.bias.fill_(1.0)
    x = torch.tensor([[1.0], [3.0], [8.0]], dtype=torch.float64)
    c = trace_norm(m, x).cell((2, 0))
    assert (c.label, c.channel, c.count, c.total, c.mean) == ("channel 0", 0, 3, 12.0, 4.0)
    assert c.squares == 26.0 and c.var == pytest.approx(26 / 3) and c.unbiased_var == pytest.approx(13.0)
    assert c.normalized == pytest.approx(4 / math.sqrt(26 / 3 + 1e-5))
    assert c.output == pytest.approx(2 * 4 / math.sqrt(26 / 3 + 1e-5) + 1)
    # running: mean 0.5 * 0 + 0.5 * 4 = 2, var 0.5 * 1 + 0.5 * 13 = 7
    assert (c.new_mean, c.new_var, c.samples_averaged) == (4.0, pytest.approx(13.0), 1)
    assert c.running_mean_after == 2.0 and c.running_var_after == pytest.approx(7.0)
    # eval: (8 - 2) / sqrt(7 + eps) * 2 + 1, while this input's own mean would be 4
    e = trace_norm(m.eval(), x).cell((2, 0))
    assert e.from_running and e.members is None and e.update_factor is None
    assert (e.mean, e.own_mean) == (2.0, 4.0) and e.var == pytest.approx(7.0)
    assert e.output == pytest.approx(2 * 6 / math.sqrt(7 + 1e-5) + 1)


def test_cell_of_rmsnorm_and_instancenorm_running_average():
    # RMSNorm over [3, 4]: no mean, squares 9 + 16 = 25, mean square 12.5
    c = trace_norm(nn.RMSNorm(2).double(), torch.tensor([[3.0, 4.0]], dtype=torch.float64)).cell((0, 1))
    assert not c.centred and c.mean == 0.0 and c.squares == 25.0 and c.var == 12.5
    # InstanceNorm1d(1) with running stats: two samples [0, 2] and [4, 8] have means 1 and 6, unbiased
    # variances 2 and 8; running_mean blends their average 3.5, running_var their average 5
    m = nn.InstanceNorm1d(1, track_running_stats=True, momentum=1.0).double()
    c = trace_norm(m, torch.tensor([[[0.0, 2.0]], [[4.0, 8.0]]], dtype=torch.float64)).cell((1, 0, 0))
    assert c.label == "sample 1, channel 0" and c.mean == 6.0 and c.samples_averaged == 2
    assert (c.new_mean, c.new_var, c.running_mean_after, c.running_var_after) == (3.5, 5.0, 3.5, 5.0)


@pytest.mark.parametrize("index", [(0,), (2, 0), (0, 3), (-1, 0)])
def test_cell_outside_the_input_is_a_sentence(index):
    t = trace_norm(nn.LayerNorm(3), torch.zeros(2, 3))
    with pytest.raises(ExplorerError, match="outside the input of shape"):
        t.cell(index)


class _Refusing(nn.LayerNorm):
    """A LayerNorm whose forward fails the way a broken custom layer might."""
    def forward(self, x):
        raise RuntimeError("custom forward failed")


def test_a_forward_our_checks_missed_still_gives_a_message():
    with pytest.raises(ExplorerError, match="PyTorch rejected this layer and input: custom forward failed"):
        trace_norm(_Refusing(3), torch.zeros(2, 3))


def test_instancenorm_without_gamma_ignores_num_features_like_torch():
    m = nn.InstanceNorm1d(3)
    with pytest.warns(UserWarning):
        t = trace_norm(m, torch.randn(2, 5, 4, generator=torch.Generator().manual_seed(0)))
    assert t.mean.shape == (2, 5, 1) and t.max_abs_error < 1e-5


def test_trace_does_not_keep_a_graph_or_touch_the_input():
    x = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(1), requires_grad=True)
    before = x.detach().clone()
    t = trace_norm(nn.RMSNorm(5), x)
    assert not t.output.requires_grad and not t.manual.requires_grad
    assert torch.equal(x.detach(), before)


# -- presets and the seed notes' mistakes ------------------------------------------------------------

def test_mistakes_carry_the_real_numbers():
    bn, ln, inorm, gn = ex.mistakes()
    # BatchNorm1d(3) on 1..36 as (3, 3, 4): channel c holds 4 values from each of the 3 samples, starting at
    # 1 + 4c, 13 + 4c and 25 + 4c, so its mean is 14.5 + 4c; blocks 12 apart give a between-block variance of
    # (144 + 0 + 144) / 3 = 96, the within-block variance of 4 consecutive numbers is 1.25: total 97.25
    assert bn.trace.mean.flatten().tolist() == [14.5, 18.5, 22.5]
    assert bn.trace.var.flatten().tolist() == pytest.approx([97.25] * 3)
    assert ln.trace.mean.flatten().tolist() == [2.0, 5.0]
    assert inorm.trace.mean.flatten().tolist() == [2.5, 6.5, 10.5, 14.5, 18.5, 22.5]
    # GroupNorm(2, 6) on 1..192: each (sample, group) is 48 consecutive numbers 1 + 48k .. 48 + 48k
    assert gn.trace.mean.flatten().tolist() == [24.5, 72.5, 120.5, 168.5]
    for m in (bn, ln, inorm, gn):
        assert m.trace.max_abs_error < 1e-5
        assert m.title and m.code.startswith(("bn", "ln", "inorm", "gn"))
    assert "9.7979599" in bn.claim and "−0.67" in ln.claim and "1.12" in inorm.claim and "7.5" in gn.claim
    assert f"{float(ln.trace.output[0, 2]):.4g}" in ln.what_goes_wrong
    assert "14.5" in bn.what_goes_wrong and "24.5" in gn.what_goes_wrong


def test_mistake_code_prints_what_the_trace_holds():
    for m in ex.mistakes():
        scope = {"nn": nn, "torch": torch}
        lines = m.code.splitlines()
        exec("\n".join(lines[:-1]), scope)
        printed = eval(lines[-1][len("print("):-1], scope)
        assert torch.allclose(printed.detach(), m.trace.output, atol=1e-6)


def test_presets_and_random_inputs():
    assert ex.input_preset("notes: LayerNorm, [[1, 2, 3], [4, 5, 6]]").tolist() == [[1, 2, 3], [4, 5, 6]]
    assert ex.input_preset("notes: GroupNorm, 1..192 as (2, 6, 4, 4)").shape == (2, 6, 4, 4)
    assert all(ex.input_preset(name).flatten()[0] == 1 for name in ex.PRESETS)
    assert torch.equal(ex.random_input((2, 3), 4), ex.random_input((2, 3), 4))
    assert not torch.equal(ex.random_input((2, 3), 4), ex.random_input((2, 3), 5))


@pytest.mark.parametrize("shape", [(2, 4, 6), (2, 4, 3, 3)])
def test_make_layer_builds_a_layer_that_fits(shape):
    x = ex.random_input(shape, 0)
    layers = ex.five_layers(shape, seed=2)
    assert set(layers) == set(ex.KINDS)
    for kind, m in layers.items():
        t = trace_norm(m, x)
        assert t.max_abs_error < 1e-10, kind
    assert not torch.equal(layers["BatchNorm"].weight, torch.ones(4))          # seeded, not the default
    assert ex.make_layer("InstanceNorm", shape).running_mean is None           # torch's default kept
    assert ex.make_layer("LayerNorm", shape, normalized_dims=1).normalized_shape == (shape[-1],)


def test_random_input_code_rebuilds_the_same_tensor():
    for shape, kw in [((3, 2, 2, 2), dict(mean=1.0, std=0.5, channel_step=2.0)), ((4, 3), dict(std=3.0)),
                      ((2, 5, 7), dict(channel_step=0.5))]:
        scope = {"torch": torch}
        exec(ex.random_input_code(shape, 11, **kw), scope)
        assert torch.equal(scope["x"], ex.random_input(shape, 11, **kw))
    scope = {"torch": torch}
    exec(ex.counting_code((2, 3, 4)), scope)
    assert torch.equal(scope["x"], ex.counting((2, 3, 4)))


def test_channel_offset_moves_each_channel_by_its_index():
    # offset 10 per channel: channel c's values sit near 10 c (std 1), so the means are about 0, 10, 20
    x = ex.random_input((400, 3), 0, channel_step=10.0)
    assert x.mean(0).tolist() == pytest.approx([0.0, 10.0, 20.0], abs=0.3)
    assert torch.equal(ex.random_input((4, 3), 5), torch.round(torch.randn(
        (4, 3), generator=torch.Generator().manual_seed(5), dtype=torch.float64) * 100) / 100)


def test_typed_input_is_laid_out_row_major():
    x = ex.typed_input("1, 2, 3\n4 5 6; 7, 8", "(2, 4)")
    assert x.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]] and x.dtype == torch.float64
    assert ex.typed_input("1 2 3 4", "1 x 2 x 2").shape == (1, 2, 2)


@pytest.mark.parametrize("text, shape, message", [
    ("1, 2, 3", "2, 2", "You typed 3 numbers but the shape (2, 2) holds 4"),
    ("1, 2, x", "3, 1", "not a number"),
    ("1, 2", "two, 1", "not a list of whole numbers"),
    ("1, 2", "2", "2 to 4 whole numbers"),
    ("1, 2", "1, 1, 1, 1, 2", "2 to 4 whole numbers"),
    ("1, 2", "2, 0", "at least 1"),
    ("1", "100, 100", "type at most 4096"),
    ("", "1, 1", "empty"),
])
def test_typed_input_errors(text, shape, message):
    with pytest.raises(ExplorerError, match=re.escape(message)):
        ex.typed_input(text, shape)


def test_default_groups_and_five_layers_need_positions():
    assert [ex.default_groups(c) for c in (1, 2, 3, 4, 6)] == [1, 2, 1, 2, 2]
    assert ex.five_layers((2, 3, 4))["GroupNorm"].num_groups == 1
    with pytest.raises(ExplorerError, match="needs positions"):
        ex.five_layers((2, 3))


def test_make_layer_passes_bias_and_rmsnorm_eps_none():
    assert ex.make_layer("LayerNorm", (2, 3, 4), normalized_dims=1, bias=False).bias is None
    assert ex.make_layer("RMSNorm", (2, 3), eps=None).eps is None
    m = ex.make_layer("BatchNorm", (2, 3, 4), momentum=None, affine=False, track_running_stats=False)
    assert (type(m), m.momentum, m.affine, m.track_running_stats) == (nn.BatchNorm1d, None, False, False)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="LayerNorm", shape=(2, 3), eps=None), "RMSNorm's option"),
    (dict(kind="BatchNorm", shape=(2, 3), eps=0.0), "eps must be a positive number"),
    (dict(kind="BatchNorm", shape=(2, 3), momentum=1.5), "momentum must be between 0 and 1"),
    (dict(kind="BatchNorm2", shape=(2, 3)), "Unknown normalization"),
    (dict(kind="GroupNorm", shape=(2, 6, 4), num_groups=4), "cannot be split"),
    (dict(kind="InstanceNorm", shape=(2, 3)), "3 to 5 dims"),
    (dict(kind="BatchNorm", shape=(3,)), "(N, C, ...)"),
    (dict(kind="LayerNorm", shape=(2, 3), normalized_dims=3), "normalized_dims"),
])
def test_make_layer_errors(kwargs, message):
    with pytest.raises(ExplorerError) as err:
        ex.make_layer(**kwargs)
    assert message in str(err.value)
