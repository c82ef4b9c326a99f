"""trace_linear, trace_embedding, trace_dropout, trace_activation against the real modules;
hand-worked examples; every ExplorerError path; the presets and typed values of the page."""
import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from explorer import ExplorerError
from explorer.activation_steps import worked
from explorer.basic import (apply_temperature, dropout_expectation, temperature_sweep, trace_activation, trace_dropout,
                            trace_embedding, trace_linear)
from explorer.examples import basic as ex

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
dtypes = st.sampled_from([torch.float32, torch.float64])
seeds = st.integers(0, 2**16)


def _randn(shape, seed, dtype, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=dtype) * scale


def _fill(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return m


def _close(got, expected, dtype):
    """Same shape and within the dtype's tolerance, relative to the size of the values."""
    if got.shape != expected.shape or not expected.numel():
        return got.shape == expected.shape
    return float((got - expected).abs().max()) <= TOL[dtype] * max(1.0, float(expected.abs().max()))


# -- Linear and Bilinear --------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from([(), (3,), (2, 3)]), st.booleans(), dtypes, seeds,
       st.data())
def test_linear_matches_module_and_every_dot_adds_up(fin, fout, lead, bias, dtype, seed, data):
    m = _fill(nn.Linear(fin, fout, bias=bias).to(dtype), seed)
    x = _randn(lead + (fin,), seed + 1, dtype)
    t = trace_linear(m, x)
    expected = m(x).detach()
    assert t.manual.dtype == dtype and _close(t.manual, expected, dtype)
    assert t.max_abs_error <= TOL[dtype] * max(1.0, float(expected.abs().max()))
    n = data.draw(st.integers(0, t.rows - 1))
    j = data.draw(st.integers(0, fout - 1))
    d = t.dot(n, j)
    rows = x.reshape(-1, fin)
    assert [term.x for term in d.terms] == rows[n].tolist()
    assert [term.w for term in d.terms] == m.weight[j].tolist()
    assert abs(d.total - float(expected.reshape(-1, fout)[n, j])) <= 10 * TOL[dtype] * max(
        1.0, sum(abs(term.product) for term in d.terms))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.sampled_from([(), (3,)]), st.booleans(), dtypes,
       seeds)
def test_bilinear_matches_module_and_dot_is_x1_a_x2(in1, in2, out, lead, bias, dtype, seed):
    m = _fill(nn.Bilinear(in1, in2, out, bias=bias).to(dtype), seed)
    x1, x2 = _randn(lead + (in1,), seed + 1, dtype), _randn(lead + (in2,), seed + 2, dtype)
    t = trace_linear(m, x1, x2)
    expected = m(x1, x2).detach()
    assert _close(t.manual, expected, dtype)
    d = t.dot(t.rows - 1, out - 1)
    assert len(d.terms) == in1 * in2
    a = m.weight[out - 1].detach()
    for term in d.terms:
        i, k = term.index
        assert term.w == float(a[i, k])
    assert abs(d.total - float(expected.reshape(-1, out)[-1, -1])) <= 10 * TOL[dtype] * max(
        1.0, sum(abs(term.product) for term in d.terms))


def test_linear_hand_example():
    # y0 = 1*1 + 2*1 + 1 = 4;  y1 = 3*1 + 4*1 - 1 = 6
    m, (x,) = ex.linear_preset("hand example 2→2")
    t = trace_linear(m, x)
    assert t.output.tolist() == [4.0, 6.0] and t.manual.tolist() == [4.0, 6.0]
    d = t.dot(0, 1)
    assert [(term.index, term.product) for term in d.terms] == [((0,), 3.0), ((1,), 4.0)]
    assert (d.bias, d.total) == (-1.0, 6.0)


def test_bilinear_hand_example():
    # A_0 = [[1,2],[3,4]], x1 = [1,2], x2 = [3,4]: A_0 x2 = [1*3+2*4, 3*3+4*4] = [11, 25];
    # x1 . [11, 25] = 11 + 50 = 61; plus b = 1 gives 62. Products: x1_0*A[0,0,0]*x2_0 = 1*1*3 = 3
    m = nn.Bilinear(2, 2, 1).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[[1.0, 2.0], [3.0, 4.0]]]))
        m.bias.fill_(1.0)
    t = trace_linear(m, torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([3.0, 4.0], dtype=torch.float64))
    assert t.output.tolist() == [62.0] and t.manual.tolist() == [62.0]
    d = t.dot(0, 0)
    assert [term.product for term in d.terms] == [3.0, 8.0, 18.0, 32.0] and d.total == 62.0


def test_batched_linear_hand_example_and_no_graph():
    # rows [1, 0] and [2, -1] through W = [[1, 2], [3, 4]], b = [1, -1]:
    # row 0: [1 + 1, 3 - 1] = [2, 2];  row 1: [2 - 2 + 1, 6 - 4 - 1] = [1, 1]
    m, _ = ex.linear_preset("hand example 2→2")
    x = torch.tensor([[1.0, 0.0], [2.0, -1.0]], dtype=torch.float64, requires_grad=True)
    t = trace_linear(m, x)
    assert t.manual.tolist() == [[2.0, 2.0], [1.0, 1.0]] and t.output.tolist() == [[2.0, 2.0], [1.0, 1.0]]
    assert t.rows == 2 and [term.product for term in t.dot(1, 1).terms] == [6.0, -4.0]
    assert not t.output.requires_grad and not t.manual.requires_grad


def test_linear_trace_leaves_the_module_alone():
    m = nn.Linear(3, 2)
    before = copy.deepcopy(m.state_dict())
    trace_linear(m, torch.randn(4, 3)).dot(3, 1)
    assert all(torch.equal(v, before[k]) for k, v in m.state_dict().items())


@pytest.mark.parametrize("call, message", [
    (lambda: trace_linear(nn.ReLU(), torch.ones(4)), "trace_linear takes one of Linear, Bilinear; got ReLU"),
    (lambda: trace_linear(nn.Linear(4, 2), torch.ones(2, 5)), "Input has 5 features but the layer expects 4."),
    (lambda: trace_linear(nn.Bilinear(2, 3, 1), torch.ones(2)), "takes two inputs"),
    (lambda: trace_linear(nn.Bilinear(2, 3, 1), torch.ones(2), torch.ones(4)),
     "Input 2 has 4 features but the layer expects 3."),
    (lambda: trace_linear(nn.Bilinear(2, 3, 1), torch.ones(5, 2), torch.ones(4, 3)), "same leading (batch) shape"),
    (lambda: trace_linear(nn.Linear(2, 1), torch.ones(2), torch.ones(2)), "nn.Linear takes one input"),
    (lambda: trace_linear(nn.Linear(2, 1), torch.ones(2, dtype=torch.long)), "floating-point"),
    (lambda: trace_linear(nn.Linear(2, 1), [1.0, 2.0]), "must be a torch.Tensor"),
    (lambda: trace_linear(nn.Linear(2, 1), torch.ones(2, dtype=torch.float64)), "convert one of them"),
    (lambda: trace_linear(nn.Linear(2, 1), torch.tensor(1.0)), "single number"),
    (lambda: trace_linear(nn.Linear(2, 1), torch.tensor([1.0, float("nan")])), "NaN"),
    (lambda: trace_linear(nn.Linear(2, 3), torch.ones(2)).dot(1, 0), "Row 1 is out of range"),
    (lambda: trace_linear(nn.Linear(2, 3), torch.ones(2)).dot(0, 3), "Output feature 3 is out of range"),
])
def test_linear_errors(call, message):
    with pytest.raises(ExplorerError) as e:
        call()
    assert message in str(e.value)


# -- Embedding ------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(st.integers(2, 8), st.integers(1, 5), st.booleans(), st.sampled_from([None, 0.5, 1.0, 3.0]),
       st.sampled_from([1.0, 2.0, 3.0]), st.sampled_from([(4,), (2, 3), ()]), dtypes, seeds)
def test_embedding_matches_module_and_renormalizes_like_torch(V, D, padded, max_norm, norm_type, shape, dtype, seed):
    pad = seed % V if padded else None
    m = nn.Embedding(V, D, padding_idx=pad, max_norm=max_norm, norm_type=norm_type).to(dtype)
    with torch.no_grad():
        m.weight.copy_(_randn((V, D), seed, dtype, scale=2.0))
    idx = torch.randint(0, V, shape, generator=torch.Generator().manual_seed(seed))
    reference = copy.deepcopy(m)
    expected = reference(idx).detach()                      # torch renormalizes reference's rows in place
    before = m.weight.detach().clone()
    t = trace_embedding(m, idx)
    assert t.output.dtype == dtype and _close(t.manual, expected, dtype) and torch.equal(t.output, expected)
    assert torch.equal(m.weight.detach(), reference.weight.detach())   # the same in-place change as torch's
    untouched = torch.ones(V, dtype=torch.bool)
    untouched[t.looked_up] = False
    assert torch.equal(m.weight.detach()[untouched], before[untouched])
    if max_norm is None:
        assert t.rows_before is None and t.scale is None and torch.equal(m.weight.detach(), before)
        return
    norms = torch.linalg.vector_norm(before[t.looked_up], ord=norm_type, dim=1)
    assert torch.equal(t.norms_before, norms)
    assert bool((t.norms_after <= max_norm * (1 + 1e-6)).all())
    assert torch.equal(t.renormalized, norms > max_norm)
    assert torch.equal(t.scale[~t.renormalized], torch.ones_like(t.scale[~t.renormalized]))
    assert t.renorm_error <= TOL[dtype] * max(1.0, max_norm)


def test_embedding_max_norm_hand_example():
    # row 1 = [3, 4] has norm 5 > 1: scaled by 1 / (5 + 1e-7), about 0.2, giving about [0.6, 0.8];
    # row 2 = [0.3, 0.4] has norm 0.5 and stays; row 0 is not looked up and stays [3, 4] too
    m = nn.Embedding(3, 2, max_norm=1.0).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[3.0, 4.0], [3.0, 4.0], [0.3, 0.4]]))
    t = trace_embedding(m, torch.tensor([1, 2, 1]))
    assert t.looked_up.tolist() == [1, 2]
    assert t.norms_before.tolist() == pytest.approx([5.0, 0.5])
    assert t.scale.tolist() == pytest.approx([1 / (5 + 1e-7), 1.0], rel=1e-12)
    assert t.output[0].tolist() == pytest.approx([0.6, 0.8], abs=1e-7)
    assert m.weight[0].tolist() == [3.0, 4.0]
    assert m.weight[1].tolist() == pytest.approx([0.6, 0.8], abs=1e-7)


def test_embedding_max_norm_changes_the_table_like_torch_and_nothing_more():
    # The trace runs the module's own forward once, so its in-place rescaling happens exactly as in
    # torch (our choice: keep torch's behaviour, record before and after). A second lookup then
    # starts from the rescaled rows, as it would in torch.
    m = nn.Embedding(4, 2, max_norm=1.0).double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 2.0], [0.1, 0.1], [6.0, 8.0]]))
    original = m.weight.detach().clone()
    first = trace_embedding(m, torch.tensor([0, 2]))
    assert torch.equal(first.table_before, original)
    assert torch.equal(m.weight[[1, 3]].detach(), original[[1, 3]])            # rows not looked up: untouched
    assert torch.equal(m.weight[2].detach(), original[2])                       # norm 0.14 <= 1: untouched
    assert m.weight[0].tolist() == pytest.approx([0.6, 0.8], abs=1e-7)          # 5 -> 1
    assert torch.equal(first.table, m.weight.detach())
    after = m.weight.detach().clone()
    first.row_gradient()                                                         # works on a copy
    assert torch.equal(m.weight.detach(), after) and m.weight.grad is None
    second = trace_embedding(m, torch.tensor([0]))
    assert torch.equal(second.rows_before, first.rows_after[:1]) and not bool(second.renormalized.any())


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    m = ex.seeded_embedding(len(ex.VOCAB), 4, padding_idx=ex.PAD_ID, seed=3)
    ids = ex.parse_ids(ex.SENTENCE, len(ex.VOCAB), vocab=ex.VOCAB)   # the cat sat on the mat <pad> <pad>
    t = trace_embedding(m, ids)
    assert t.is_padding.tolist() == [False] * 6 + [True, True]
    assert torch.equal(t.output[6:], torch.zeros(2, 4, dtype=torch.float64))
    grad = t.row_gradient()
    # "the" appears twice, "cat", "sat", "on", "mat" once, "<pad>" twice but gets nothing
    counts = torch.zeros(len(ex.VOCAB), dtype=torch.float64)
    for word, n in {"the": 2, "cat": 1, "sat": 1, "on": 1, "mat": 1}.items():
        counts[ex.VOCAB.index(word)] = n
    assert torch.equal(grad, counts[:, None].expand(-1, 4))
    assert m.weight.grad is None


@pytest.mark.parametrize("call, message", [
    (lambda: trace_embedding(nn.Linear(2, 2), torch.tensor([0])), "trace_embedding takes one of Embedding"),
    (lambda: trace_embedding(nn.Embedding(10, 2), torch.tensor([1.0, 2.0])), "whole numbers"),
    (lambda: trace_embedding(nn.Embedding(10, 2), torch.tensor([True])), "whole numbers"),
    (lambda: trace_embedding(nn.Embedding(10, 2), [1, 2]), "must be a torch.Tensor"),
    (lambda: trace_embedding(nn.Embedding(10, 2), torch.tensor([3, 12])),
     "Token id 12 is out of range: the table has 10 rows, ids 0 to 9."),
    (lambda: trace_embedding(nn.Embedding(10, 2), torch.tensor([-1])), "Token id -1 is out of range"),
])
def test_embedding_errors(call, message):
    with pytest.raises(ExplorerError) as e:
        call()
    assert message in str(e.value)


# -- Dropout --------------------------------------------------------------------------------------

def test_notes_dropout_example_keeps_values_exactly_doubled():
    # p = 0.5: kept values are x / (1 - 0.5) = 2x exactly; seed 38 drops the notes' 2, 3 and 5
    t = trace_dropout(ex.dropout_layer(0.5), torch.tensor(ex.NOTES_DROPOUT_INPUT), seed=ex.NOTES_DROPOUT_SEED)
    assert t.output.tolist() == [2.0, 0.0, 0.0, 8.0, 0.0]
    assert t.mask.tolist() == [True, False, False, True, False]
    assert torch.equal(t.output[t.mask], 2 * t.x[t.mask]) and t.scale == 2.0 and t.max_abs_error == 0.0


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.9, 1.0]), st.sampled_from([(7,), (3, 4), ()]), dtypes, seeds)
def test_seeded_dropout_is_the_module_op_with_that_mask(p, shape, dtype, seed):
    x = _randn(shape, seed, dtype)
    t = trace_dropout(nn.Dropout(p), x, seed=seed)
    assert t.output.dtype == dtype and t.max_abs_error <= TOL[dtype] * max(1.0, float(x.abs().max()) * 10)
    assert torch.equal(t.output[~t.mask], torch.zeros_like(x)[~t.mask])
    if p < 1:
        assert torch.allclose(t.output[t.mask], x[t.mask] / (1 - p), rtol=TOL[dtype], atol=0)
    assert torch.equal(trace_dropout(nn.Dropout(p), x, seed=seed).mask, t.mask)   # same seed, same mask
    eval_trace = trace_dropout(nn.Dropout(p).eval(), x, seed=seed)
    assert torch.equal(eval_trace.output, x) and bool(eval_trace.mask.all()) and eval_trace.scale == 1.0


@pytest.mark.parametrize("dtype, shape", [(torch.float32, (1000,)), (torch.float64, (1000,)),
                                          (torch.float64, (7, 13)), (torch.float32, (2, 3, 5))])
def test_seeded_mask_is_exactly_what_the_module_draws_from_the_same_generator_state(dtype, shape):
    # Only this test process's global generator is used, and fork_rng restores it afterwards.
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    for p, seed in [(0.5, 38), (0.3, 7), (0.9, 123)]:
        state = torch.Generator().manual_seed(seed).get_state()
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(state)
            y = nn.Dropout(p)(x)
        assert torch.equal(trace_dropout(nn.Dropout(p), x, seed=seed).output, y)


@pytest.mark.parametrize("p, dtype", [(0.5, torch.float32), (0.3, torch.float32), (0.8, torch.float64)])
def test_module_train_mode_drops_about_p_and_scales_kept_values_exactly(p, dtype):
    x = torch.rand(200_000, generator=torch.Generator().manual_seed(1), dtype=dtype) + 0.5   # no zeros
    y = nn.Dropout(p)(x)
    dropped = float((y == 0).double().mean())
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / x.numel())
    kept = y != 0
    scale = torch.ones((), dtype=dtype).div_(1 - p)          # the one number torch multiplies kept values by
    assert torch.equal(y[kept], x[kept] * scale)
    assert torch.allclose(y[kept], x[kept] / (1 - p), rtol=TOL[dtype], atol=0)
    # and the trace applies the very same arithmetic
    t = trace_dropout(nn.Dropout(p), x, seed=5)
    assert torch.equal(t.output[t.mask], x[t.mask] * scale)


def test_dropout_never_touches_the_global_generator():
    state = torch.get_rng_state()
    trace_dropout(nn.Dropout(0.5), torch.ones(100), seed=3)
    dropout_expectation(nn.Dropout(0.5), torch.ones(10), samples=50, seed=3)
    assert torch.equal(torch.get_rng_state(), state)


def test_dropout_expectation_closes_in_on_x():
    x = torch.arange(1.0, 6.0, dtype=torch.float64)
    m = dropout_expectation(nn.Dropout(0.5), x, samples=4000, seed=11)
    assert torch.equal(m.running_mean[0], trace_dropout(nn.Dropout(0.5), x, seed=11).output)
    # one output has standard deviation |x| * sqrt(p / (1 - p)) = |x|; the mean of 4000 about |x| / 63
    assert bool(((m.running_mean[-1] - x).abs() <= 5 * x / math.sqrt(4000)).all())
    assert m.std_error[-1].item() == pytest.approx(5 / math.sqrt(4000))
    assert float(m.gap[-200:].mean()) < float(m.gap[:20].mean())


def test_dropout_samples_are_the_masks_behind_the_running_mean():
    x = torch.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=torch.float64)
    m = dropout_expectation(nn.Dropout(0.25), x, samples=300, seed=9)
    assert m.masks.shape == (300, 2, 3) and m.masks.dtype == torch.bool
    assert torch.equal(m.sample(0), trace_dropout(nn.Dropout(0.25), x, seed=9).output)
    outputs = torch.stack([m.sample(k) for k in range(m.samples)])
    assert torch.equal(outputs[m.masks], (x / 0.75).expand(300, 2, 3)[m.masks])      # kept: x / (1 - p)
    assert bool((outputs[~m.masks] == 0).all())
    assert torch.allclose(m.running_mean[-1], outputs.mean(0), atol=1e-12)
    assert torch.allclose(m.running_mean[9], outputs[:10].mean(0), atol=1e-12)
    # about 1 - p = 75% kept, within 5 standard errors over 1800 draws
    assert abs(float(m.masks.double().mean()) - 0.75) < 5 * math.sqrt(0.75 * 0.25 / 1800)
    with pytest.raises(ExplorerError, match="Sample 300 is out of range"):
        m.sample(300)


def test_dropout_edge_probabilities():
    x = torch.tensor([-1.0, 2.0])
    assert trace_dropout(nn.Dropout(1.0), x).output.abs().sum() == 0      # everything dropped
    assert torch.equal(trace_dropout(nn.Dropout(0.0), x).output, x)       # nothing dropped


def _bad_p():
    m = nn.Dropout(0.5)
    m.p = 1.5
    return m


@pytest.mark.parametrize("call, message", [
    (lambda: trace_dropout(nn.Dropout2d(0.5), torch.ones(2, 3, 4)), "trace_dropout takes one of Dropout"),
    (lambda: trace_dropout(_bad_p(), torch.ones(3)), "between 0 and 1"),
    (lambda: trace_dropout(nn.Dropout(0.5), torch.ones(3, dtype=torch.int64)), "floating-point"),
    (lambda: trace_dropout(nn.Dropout(0.5), torch.ones(3), seed=-1), "seed must be a whole number"),
    (lambda: trace_dropout(nn.Dropout(0.5), torch.ones(3), seed=1.5), "seed must be a whole number"),
    (lambda: dropout_expectation(nn.Dropout(1.0), torch.ones(3)), "With p = 1"),
    (lambda: dropout_expectation(nn.Dropout(0.5), torch.ones(3), samples=0), "number of samples"),
    (lambda: dropout_expectation(nn.Dropout(0.5), torch.ones(5000), samples=10_000), "too many"),
    (lambda: ex.dropout_layer(2.0), "between 0 and 1"),
])
def test_dropout_errors(call, message):
    with pytest.raises(ExplorerError) as e:
        call()
    assert message in str(e.value)


# -- Activations ----------------------------------------------------------------------------------

def _phi(x):
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def _gelu_tanh_slope(x):
    c = math.sqrt(2 / math.pi)
    u = c * (x + 0.044715 * x ** 3)
    return 0.5 * (1 + torch.tanh(u)) + 0.5 * x * (1 - torch.tanh(u) ** 2) * c * (1 + 3 * 0.044715 * x ** 2)


# (module, derivative written from the calculus-book formula)
ACTIVATIONS = [
    (nn.ReLU(), lambda x: (x > 0).to(x.dtype)),
    (nn.LeakyReLU(0.2), lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, 0.2))),
    (nn.ELU(0.7), lambda x: torch.where(x > 0, torch.ones_like(x), 0.7 * torch.exp(x))),
    (nn.GELU(), lambda x: _phi(x) + x * torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)),
    (nn.GELU(approximate="tanh"), _gelu_tanh_slope),
    (nn.SiLU(), lambda x: torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x)))),
    (nn.Sigmoid(), lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
    (nn.Tanh(), lambda x: 1 - torch.tanh(x) ** 2),
    (nn.Softplus(), lambda x: torch.where(x > 20, torch.ones_like(x), torch.sigmoid(x))),
    (nn.Softplus(beta=0.5, threshold=3.0),
     lambda x: torch.where(0.5 * x > 3, torch.ones_like(x), torch.sigmoid(0.5 * x))),
    (nn.Softmax(dim=-1), None),
    (nn.Softmax(dim=0), None),
]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(range(len(ACTIVATIONS))), st.sampled_from([(6,), (3, 4), (2, 2, 3)]), dtypes, seeds,
       st.sampled_from([1.0, 5.0, 40.0]))
def test_activation_matches_module_and_its_slope_matches_calculus(k, shape, dtype, seed, scale):
    module, slope = ACTIVATIONS[k]
    x = _randn(shape, seed, dtype, scale)
    t = trace_activation(module, x, points=51)
    expected = module(x)
    assert t.output.dtype == dtype and t.curve.y.dtype == dtype
    assert _close(t.manual, expected, dtype) and t.max_abs_error <= TOL[dtype] * max(1.0, float(expected.abs().max()))
    if slope is None:   # softmax: the Jacobian's diagonal is s_i (1 - s_i)
        want = expected * (1 - expected)
    else:
        want = slope(x)
    assert _close(t.derivative, want, dtype)
    assert torch.equal(t.saturated, t.derivative.abs() < t.curve.slope)


@pytest.mark.parametrize("module, x, y", [
    (nn.ReLU(), [-1.0, 0.0, 2.0], [0.0, 0.0, 2.0]),
    (nn.LeakyReLU(0.1), [-2.0, 3.0], [-0.2, 3.0]),
    (nn.ELU(2.0), [math.log(0.5), 1.0], [2.0 * (0.5 - 1), 1.0]),          # 2 (e^ln0.5 - 1) = -1
    (nn.Sigmoid(), [0.0, math.log(3.0)], [0.5, 0.75]),                     # 1 / (1 + 1/3) = 3/4
    (nn.Tanh(), [0.0, math.log(2.0)], [0.0, 0.6]),                         # (2 - 1/2) / (2 + 1/2) = 0.6
    (nn.SiLU(), [0.0, math.log(3.0)], [0.0, 0.75 * math.log(3.0)]),
    (nn.Softplus(), [0.0, 30.0], [math.log(2.0), 30.0]),                   # above threshold 20: x itself
    (nn.GELU(), [0.0], [0.0]),
    (nn.Softmax(dim=-1), [0.0, math.log(3.0)], [0.25, 0.75]),              # e^0 : e^ln3 = 1 : 3
])
def test_activation_hand_examples(module, x, y):
    t = trace_activation(module, torch.tensor(x, dtype=torch.float64))
    assert t.manual.tolist() == pytest.approx(y, abs=1e-12)
    assert t.output.tolist() == pytest.approx(y, abs=1e-12)


def test_saturation_regions_where_the_slope_vanishes():
    grid_step = 12 / 400 + 1e-6   # float32 grid points sit within rounding of i * step
    relu = trace_activation(nn.ReLU(), torch.zeros(1)).curve
    assert len(relu.saturated) == 1 and relu.saturated[0][0] == -6.0 and abs(relu.saturated[0][1]) <= grid_step
    assert trace_activation(nn.LeakyReLU(0.1), torch.zeros(1)).curve.saturated == ()
    # sigmoid' = s (1 - s) < 0.01 where |x| > ln((1 + sqrt(0.96)) / (1 - sqrt(0.96))) / 1, about 4.59
    edge = math.log((1 + math.sqrt(0.96)) / (1 - math.sqrt(0.96)))
    (lo1, hi1), (lo2, hi2) = trace_activation(nn.Sigmoid(), torch.zeros(1)).curve.saturated
    assert (lo1, lo2 - edge, hi2) == pytest.approx((-6.0, 0.0, 6.0), abs=grid_step)
    assert hi1 == pytest.approx(-edge, abs=grid_step)
    # tanh' = 1 - t^2 < 0.01 where |t| > sqrt(0.99): |x| > atanh(sqrt(0.99)), about 2.99
    (_, hi), (lo, _) = trace_activation(nn.Tanh(), torch.zeros(1)).curve.saturated
    assert (hi, lo) == pytest.approx((-math.atanh(math.sqrt(0.99)), math.atanh(math.sqrt(0.99))), abs=grid_step)


def test_curve_is_the_module_over_the_span_with_its_slope():
    t = trace_activation(nn.Tanh(), torch.tensor([-10.0, 0.5], dtype=torch.float64), points=101)
    c = t.curve
    assert (c.x[0].item(), c.x[-1].item(), len(c.x)) == (-11.0, 6.0, 101)   # widened to cover -10
    assert torch.allclose(c.y, torch.tanh(c.x), atol=1e-15) and torch.allclose(c.dy, 1 - torch.tanh(c.x) ** 2)
    custom = trace_activation(nn.Tanh(), torch.zeros(2), span=(-1, 1), points=3).curve
    assert custom.x.tolist() == [-1.0, 0.0, 1.0]


def test_softmax_curve_sweeps_one_entry_and_passes_through_it():
    x = torch.tensor([[2.0, 1.0, 0.1], [0.0, 3.0, -1.0]], dtype=torch.float64)
    t = trace_activation(nn.Softmax(dim=1), x, swept=(1, 2))
    c = t.curve
    assert t.dim == 1 and c.swept == (1, 2)
    # s_2 as x_2 varies is a logistic curve: sigmoid(x_2 - log(e^0 + e^3))
    assert torch.allclose(c.y, torch.sigmoid(c.x - math.log(1 + math.exp(3))), atol=1e-12)
    assert torch.allclose(c.dy, c.y * (1 - c.y), atol=1e-12)
    t0 = trace_activation(nn.Softmax(dim=0), x)
    assert t0.dim == 0 and torch.allclose(t0.output.sum(0), torch.ones(3, dtype=torch.float64))


def test_temperature_sweep_hand_example():
    # x = [0, ln 3]: at T = 1 the shares are 1 : 3 -> [0.25, 0.75]; at T = 0.5, x / T = [0, 2 ln 3],
    # e^(2 ln 3) = 9 -> [0.1, 0.9]; at T = 2, x / T = [0, ln 3 / 2], e^(ln 3 / 2) = √3 -> [1, √3] / (1 + √3)
    x = torch.tensor([0.0, math.log(3.0)], dtype=torch.float64)
    s = temperature_sweep(nn.Softmax(dim=-1), x, torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64))
    r3 = math.sqrt(3)
    assert s.probs.flatten().tolist() == pytest.approx([0.1, 0.9, 0.25, 0.75, 1 / (1 + r3), r3 / (1 + r3)], abs=1e-12)
    default = temperature_sweep(nn.Softmax(dim=0), x.float())
    assert default.probs.shape == (81, 2) and default.probs.dtype == torch.float32
    assert default.temperatures[0].item() == pytest.approx(0.05) and default.temperatures[-1].item() == pytest.approx(20)
    assert torch.allclose(default.probs.sum(1), torch.ones(81))


@pytest.mark.parametrize("call, message", [
    (lambda: temperature_sweep(nn.ReLU(), torch.ones(3)), "temperature_sweep takes one of Softmax"),
    (lambda: temperature_sweep(nn.Softmax(dim=-1), torch.ones(2, 3)), "one vector of scores"),
    (lambda: temperature_sweep(nn.Softmax(dim=-1), torch.ones(3), torch.tensor([1.0, 0.5])), "increasing"),
    (lambda: temperature_sweep(nn.Softmax(dim=-1), torch.ones(3), torch.tensor([0.0, 1.0])), "positive"),
    (lambda: temperature_sweep(nn.Softmax(), torch.ones(3)), "built without dim"),
])
def test_temperature_sweep_errors(call, message):
    with pytest.raises(ExplorerError) as e:
        call()
    assert message in str(e.value)


def test_temperature_sharpens_and_flattens():
    x = torch.tensor(ex.parse_values(ex.SOFTMAX_INPUT).tolist(), dtype=torch.float64)
    soft = nn.Softmax(dim=-1)
    assert torch.equal(apply_temperature(x, 1.0), x)
    assert trace_activation(soft, apply_temperature(x, 0.01)).output[0].item() == pytest.approx(1.0)
    assert trace_activation(soft, apply_temperature(x, 1e6)).output.tolist() == pytest.approx([1 / 3] * 3, abs=1e-5)
    assert trace_activation(soft, x).output.tolist() == pytest.approx([0.659, 0.242, 0.099], abs=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_activations_of_extreme_inputs_stay_finite_and_agree(dtype):
    # e^(1e30) overflows: the formulas are written so that the overflow lands on the right limit
    x = torch.tensor([-1e30, -100.0, 0.0, 100.0, 1e30], dtype=dtype)
    for module, _ in ACTIVATIONS:
        t = trace_activation(module, x)
        assert bool(torch.isfinite(t.manual).all()) and _close(t.manual, module(x), dtype), module


def test_in_place_activations_keep_the_input():
    x = torch.tensor([-2.0, 1.0])
    t = trace_activation(nn.LeakyReLU(-0.5, inplace=True), x)
    assert x.tolist() == [-2.0, 1.0]
    assert t.output.tolist() == [1.0, 1.0] and t.derivative.tolist() == [-0.5, 1.0]
    assert trace_activation(nn.ReLU(inplace=True), x).output.tolist() == [0.0, 1.0] and x.tolist() == [-2.0, 1.0]


@pytest.mark.parametrize("call, message", [
    (lambda: trace_activation(nn.Hardtanh(), torch.ones(2)), "trace_activation takes one of ReLU"),
    (lambda: trace_activation(nn.ReLU(), torch.ones(2, dtype=torch.int32)), "floating-point"),
    (lambda: trace_activation(nn.Softmax(), torch.ones(2)), "built without dim"),
    (lambda: trace_activation(nn.Softmax(dim=2), torch.ones(2, 2)), "dim=2 does not exist"),
    (lambda: trace_activation(nn.Softmax(dim=0), torch.tensor(1.0)), "single number"),
    (lambda: trace_activation(nn.Softmax(dim=1), torch.ones(2, 0)), "no entries along Softmax's dim 1"),
    (lambda: trace_activation(nn.Softmax(dim=0), torch.ones(3), swept=(3,)), "is not in the input"),
    (lambda: trace_activation(nn.ReLU(), torch.ones(3), swept=(0,)), "pointwise activation has none"),
    (lambda: trace_activation(nn.ReLU(), torch.ones(3), span=(1, -1)), "finite lo < hi"),
    (lambda: trace_activation(nn.ReLU(), torch.ones(3), span="wide"), "two numbers"),
    (lambda: trace_activation(nn.ReLU(), torch.ones(3), points=1), "points"),
    (lambda: trace_activation(nn.ReLU(), torch.ones(3), slope=-1), "slope"),
    (lambda: trace_activation(nn.Softplus(beta=0), torch.ones(3)), "beta = 0"),
    (lambda: apply_temperature(torch.ones(3), 0), "positive number"),
    (lambda: ex.activation_layer("Swish"), "Unknown activation"),
])
def test_activation_errors(call, message):
    with pytest.raises(ExplorerError) as e:
        call()
    assert message in str(e.value)


# -- worked steps ---------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.sampled_from(range(len(ACTIVATIONS))), dtypes, seeds, st.sampled_from([1.0, 4.0, 30.0]), st.data())
def test_worked_steps_end_at_the_module_value(k, dtype, seed, scale, data):
    module, _ = ACTIVATIONS[k]
    x = _randn((7,), seed, dtype, scale)
    t = trace_activation(module, x)
    i = data.draw(st.integers(0, 6))
    w = worked(t, i)
    assert w.x == float(x[i]) and w.steps[-1] == f"= {w.value:.4g}"
    assert abs(w.value - float(t.output[i])) <= TOL[dtype] * max(1.0, abs(w.value))


@pytest.mark.parametrize("module, x, i, line, value", [
    # 1 / (1 + e^(-ln 3)) = 1 / (1 + 1/3) = 0.75
    (nn.Sigmoid(), [math.log(3.0)], 0, "= 1 / (1 + 0.3333)", 0.75),
    # 0.2 · (-2) = -0.4
    (nn.LeakyReLU(0.2), [-2.0], 0, "x = -2 ≤ 0, so f(x) = 0.2·(-2)", -0.4),
    # 2 (e^(ln 0.5) - 1) = 2 (0.5 - 1) = -1
    (nn.ELU(2.0), [math.log(0.5)], 0, "= 2·(0.5 − 1)", -1.0),
    # tanh(ln 2) = 1 - 2 / (e^(2 ln 2) + 1) = 1 - 2/5 = 0.6
    (nn.Tanh(), [math.log(2.0)], 0, "= 1 − 2 / 5", 0.6),
    # softplus(ln 3) = log(1 + 3) = log 4
    (nn.Softplus(), [math.log(3.0)], 0, "= log(4) / 1", math.log(4.0)),
    # beta x = 30 > 20: the input itself
    (nn.Softplus(), [30.0], 0, "1·30 = 30 > 20, so f(x) = x", 30.0),
    # softmax of [0, ln 3] at entry 1: max ln 3, e^0 / (e^(-ln 3) + e^0) = 1 / (1/3 + 1) = 0.75
    (nn.Softmax(dim=-1), [0.0, math.log(3.0)], 1, "= 1 / (0.3333 + 1)", 0.75),
    # GELU(0) = 0 · Φ(0) = 0
    (nn.GELU(), [0.0], 0, "= ½·0·(1 + 0)", 0.0),
])
def test_worked_steps_hand_examples(module, x, i, line, value):
    w = worked(trace_activation(module, torch.tensor(x, dtype=torch.float64)), i)
    assert line in w.steps and w.value == pytest.approx(value, abs=1e-12)


def test_worked_softmax_of_a_row_of_a_matrix():
    # row 1 of [[9, 9], [0, ln 3]] along dim 1: the same 0.75 as above; row 0 does not enter
    x = torch.tensor([[9.0, 9.0], [0.0, math.log(3.0)]], dtype=torch.float64)
    w = worked(trace_activation(nn.Softmax(dim=1), x), (1, 1))
    assert w.value == pytest.approx(0.75, abs=1e-12) and w.index == (1, 1)


def test_worked_steps_only_for_the_activations_the_trace_accepts():
    from types import SimpleNamespace
    with pytest.raises(ExplorerError, match="No worked steps for Hardtanh"):
        worked(SimpleNamespace(x=torch.ones(1), module=nn.Hardtanh()), 0)


@pytest.mark.parametrize("index", [5, (0, 0), -1, (True,)])
def test_worked_rejects_entries_outside_the_input(index):
    with pytest.raises(ExplorerError, match="is not in the input"):
        worked(trace_activation(nn.ReLU(), torch.ones(3)), index)


# -- presets, seeded layers, typed values ---------------------------------------------------------

def test_every_activation_preset_traces():
    x = ex.parse_values(ex.ACTIVATION_INPUT)
    for name in ex.ACTIVATIONS:
        t = trace_activation(ex.activation_layer(name), x)
        assert t.max_abs_error <= 1e-12, name


def test_linear_presets_give_their_hand_worked_outputs():
    # average of 3: (3 + 6 + 9) / 3 = 6; rotate 90°: (1, 0) -> (0, 1); mix: (2 - 1, 1 + 2 + 1) = (1, 4);
    # bilinear dot product: 1*3 + 2*4 = 11
    want = {"hand example 2→2": [4.0, 6.0], "average of 3": [6.0], "rotate 90°": [0.0, 1.0], "mix 3→2": [1.0, 4.0],
            "bilinear dot product": [11.0]}
    for name in ex.LINEAR_PRESETS:
        m, inputs = ex.linear_preset(name)
        assert trace_linear(m, *inputs).output.tolist() == pytest.approx(want[name], abs=1e-12)


def test_seeded_layers_are_reproducible_and_readable():
    a, b = ex.seeded_linear(5, 3, seed=4), ex.seeded_linear(5, 3, seed=4)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert not torch.equal(a.weight, ex.seeded_linear(5, 3, seed=5).weight)
    assert bool((a.weight.abs() <= 1 / math.sqrt(5) + 0.005).all())
    assert torch.equal(a.weight, torch.round(a.weight * 100) / 100)
    e = ex.seeded_embedding(6, 3, padding_idx=-1, seed=2)
    assert e.padding_idx == 5 and e.weight[5].tolist() == [0.0, 0.0, 0.0] and bool(e.weight[:5].abs().sum() > 0)
    assert ex.seeded_bilinear(2, 3, 4, bias=False).bias is None


def test_correct_examples_show_the_notes_numbers():
    train, evaluation = ex.correct_examples()
    assert train.trace.output.tolist() == [2.0, 0.0, 0.0, 8.0, 0.0]
    assert evaluation.trace.output.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0] and not evaluation.trace.training


def test_typed_values():
    assert ex.parse_values("1, -2.5  3").tolist() == [1.0, -2.5, 3.0]
    assert ex.parse_values("1 2\n3 4").tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert ex.parse_ids("[1, 2, 3]", 5).tolist() == [1, 2, 3]
    assert ex.parse_ids("the dog 9", 10, vocab=ex.VOCAB).tolist() == [1, 3, 9]


@pytest.mark.parametrize("call, message", [
    (lambda: ex.parse_values("1, two"), "item 2 of the input values is 'two', not a number"),
    (lambda: ex.parse_values(""), "empty"),
    (lambda: ex.parse_values("1, 2\n3, -2e6"), "Row 2, item 2 of the input values is -2e+06: type numbers between"),
    (lambda: ex.parse_ids("1, 2.5", 5), "Item 2 is '2.5': token ids are whole numbers."),
    (lambda: ex.parse_ids("7", 5), "Token id 7 is out of range: the table has 5 rows, ids 0 to 4."),
    (lambda: ex.parse_ids("the zebra", 10, vocab=ex.VOCAB), "Item 2 is 'zebra': not a token id or a word"),
    (lambda: ex.parse_ids(" ", 10), "empty"),
    (lambda: ex.seeded_linear(0, 3), "in_features must be a whole number from 1"),
    (lambda: ex.seeded_embedding(5, 2, padding_idx=5), "padding_idx 5 is not a row"),
    (lambda: ex.seeded_embedding(5, 2, max_norm=0), "max_norm must be a positive number"),
    (lambda: ex.linear_preset("huge"), "Unknown preset"),
])
def test_typed_value_and_preset_errors(call, message):
    with pytest.raises(ExplorerError) as e:
        call()
    assert message in str(e.value)
