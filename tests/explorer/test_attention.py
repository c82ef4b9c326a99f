"""trace_attention against the real modules, a hand-worked example, the examples, and every error path."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from explorer.attention import AdditiveAttention, entropy_curve, temperature, trace_attention
from explorer.errors import ExplorerError
from explorer.examples import attention as ex

TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def _randn(g, *shape, dtype=torch.float64):
    return torch.randn(shape, generator=g, dtype=dtype)


def _as_float(mask, dtype):
    """A mask as an additive float tensor, computed here independently of the explorer."""
    if mask is None or mask.is_floating_point():
        return None if mask is None else mask.to(dtype)
    return torch.zeros(mask.shape, dtype=dtype).masked_fill(mask, -math.inf)


@st.composite
def mha_setups(draw):
    heads = draw(st.integers(1, 3))
    embed = heads * draw(st.integers(1, 3))
    self_attn = draw(st.booleans())
    kdim = None if self_attn else draw(st.sampled_from([None, 1, 3, 5]))
    vdim = None if self_attn else draw(st.sampled_from([None, 2, 4]))
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    L = draw(st.integers(1, 5))
    S = L if self_attn else draw(st.integers(1, 5))
    return dict(heads=heads, embed=embed, self_attn=self_attn, kdim=kdim, vdim=vdim, batch=batch, L=L, S=S,
                batch_first=draw(st.booleans()), bias=draw(st.booleans()), train=draw(st.booleans()),
                dtype=draw(st.sampled_from([torch.float32, torch.float64])),
                mask=draw(st.sampled_from(["none", "bool2", "float2", "bool3", "float3", "causal"])),
                kpm=draw(st.sampled_from(["none", "bool", "float"])), seed=draw(st.integers(0, 2**16)))


def _build(c):
    """Module with random weights and biases, inputs in its layout, and masks that leave key 0 open."""
    g = torch.Generator().manual_seed(c["seed"])
    dt, B, L, S, h = c["dtype"], c["batch"], c["L"], c["S"], c["heads"]
    m = nn.MultiheadAttention(c["embed"], h, bias=c["bias"], batch_first=c["batch_first"], kdim=c["kdim"],
                              vdim=c["vdim"], dropout=0.0).to(dt).train(c["train"])
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(_randn(g, *p.shape, dtype=dt) * 0.5)

    def seq(n, e):
        if B is None:
            return _randn(g, n, e, dtype=dt)
        return _randn(g, B, n, e, dtype=dt) if c["batch_first"] else _randn(g, n, B, e, dtype=dt)

    query = seq(L, c["embed"])
    key = query if c["self_attn"] else seq(S, c["kdim"] or c["embed"])
    value = query if c["self_attn"] else seq(S, c["vdim"] or c["embed"])
    nb = 1 if B is None else B
    kw = {}
    lead = (L, S) if c["mask"].endswith("2") else ((h, L, S) if B is None else (nb * h, L, S))
    if c["mask"].startswith("bool"):
        mask = torch.rand(lead, generator=g) < 0.4
        mask[..., 0] = False
        kw["attn_mask"] = mask
    elif c["mask"].startswith("float"):
        mask = _randn(g, *lead, dtype=dt)
        mask[torch.rand(lead, generator=g) < 0.3] = -math.inf
        mask[..., 0] = 0.0
        kw["attn_mask"] = mask
    elif c["mask"] == "causal":
        kw["is_causal"] = True
    if c["kpm"] != "none":
        pad = torch.rand((nb, S), generator=g) < 0.4
        pad[:, 0] = False
        pad = pad if B is not None else pad[0]
        kw["key_padding_mask"] = pad if c["kpm"] == "bool" else _as_float(pad, dt)
    return m, query, key, value, kw


def _torch_call(m, query, key, value, kw, average):
    """What nn.MultiheadAttention returns for the same masks, with need_weights=True."""
    am = kw.get("attn_mask")
    if kw.get("is_causal"):
        seq = 1 if query.dim() == 3 and m.batch_first else 0
        am = torch.ones(query.shape[seq], key.shape[seq], dtype=torch.bool).triu(1)
    with torch.no_grad():
        return m(query, key, value, key_padding_mask=_as_float(kw.get("key_padding_mask"), query.dtype),
                 attn_mask=_as_float(am, query.dtype), need_weights=True, average_attn_weights=average)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mha_setups())
def test_multihead_matches_torch(c):
    m, query, key, value, kw = _build(c)
    before = copy.deepcopy(m.state_dict())
    t = trace_attention(m, query, None if c["self_attn"] else key, None if c["self_attn"] else value, **kw)
    out, avg = _torch_call(m, query, key, value, kw, average=True)
    _, per_head = _torch_call(m, query, key, value, kw, average=False)
    if query.dim() == 2:
        avg, per_head = avg.unsqueeze(0), per_head.unsqueeze(0)
    tol = TOL[c["dtype"]] * max(1.0, float(out.abs().max()))
    assert t.manual.dtype == t.output.dtype == query.dtype
    assert t.manual.shape == out.shape
    assert float((t.manual - out).abs().max()) <= tol
    assert t.max_abs_error <= tol
    assert float((t.module_weights - avg).abs().max()) <= TOL[c["dtype"]]
    assert float((t.averaged_weights - avg).abs().max()) <= TOL[c["dtype"]]
    assert float((t.weights - per_head).abs().max()) <= TOL[c["dtype"]]
    assert torch.allclose(t.weights.sum(-1), torch.ones((), dtype=query.dtype), atol=TOL[c["dtype"]])
    assert float((t.module_head_weights - per_head).abs().max()) <= TOL[c["dtype"]]
    if t.mask is not None:
        assert t.mask.shape == t.weights.shape
        assert bool((t.weights[torch.isneginf(t.mask)] == 0).all())
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert m.training == c["train"]
    _check_intermediates(m, t, query, key, value, c)


def _check_intermediates(m, t, query, key, value, c):
    """Every recorded step against torch's own ops: projections by F.linear, scores by einsum,
    weights by torch.softmax, the output by the module's out_proj."""
    tol = TOL[c["dtype"]] * 10
    h, E = c["heads"], c["embed"]
    d = E // h

    def batch_first(x):
        if x.dim() == 2:
            return x.unsqueeze(0)
        return x if c["batch_first"] else x.transpose(0, 1)

    q_in, k_in, v_in = (batch_first(x) for x in (query, key, value))
    if m._qkv_same_embed_dim:
        w_q, w_k, w_v = m.in_proj_weight.detach().chunk(3)
    else:
        w_q, w_k, w_v = (w.detach() for w in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight))
    b_q, b_k, b_v = m.in_proj_bias.detach().chunk(3) if m.in_proj_bias is not None else (None, None, None)
    B = q_in.shape[0]
    heads = lambda x: x.view(B, x.shape[1], h, d).transpose(1, 2)  # noqa: E731
    q, k, v = heads(F.linear(q_in, w_q, b_q)), heads(F.linear(k_in, w_k, b_k)), heads(F.linear(v_in, w_v, b_v))
    assert float((t.q - q).abs().max()) <= tol and float((t.k - k).abs().max()) <= tol
    assert float((t.v - v).abs().max()) <= tol
    raw = torch.einsum("bhld,bhsd->bhls", q, k)
    assert float((t.raw_scores - raw).abs().max()) <= tol * max(1.0, float(raw.abs().max()))
    assert t.scale == pytest.approx(1 / math.sqrt(d))
    expected = t.raw_scores * t.scale + (0 if t.mask is None else t.mask)
    assert torch.equal(torch.isneginf(t.scores), torch.isneginf(expected))
    finite = torch.isfinite(expected)
    assert float(torch.where(finite, t.scores - expected, 0.0).abs().max()) <= tol
    assert float((t.weights - torch.softmax(t.scores, dim=-1)).abs().max()) <= tol
    assert float((t.head_outputs - t.weights @ t.v).abs().max()) <= tol
    assert torch.equal(t.concat, t.head_outputs.transpose(1, 2).reshape(B, -1, E))
    with torch.no_grad():
        out = m.out_proj(t.concat)
    assert float((out - batch_first(t.output)).abs().max()) <= tol * max(1.0, float(out.abs().max()))


def test_hand_worked_two_tokens():
    # One head, E = d = 2, every projection the identity and no bias, so Q = K = V = X and out = concat.
    # Pick x0 = [a, 0], x1 = [0, a] with a^2 = sqrt(2) ln 3. Then Q K^T / sqrt(d):
    #   s00 = a^2 / sqrt(2) = ln 3,  s01 = 0,  s10 = 0,  s11 = ln 3.
    # softmax row 0 = [e^{ln 3}, e^0] / (3 + 1) = [3/4, 1/4]; row 1 = [1/4, 3/4].
    # output row 0 = 3/4 x0 + 1/4 x1 = [3a/4, a/4]; row 1 = [a/4, 3a/4].
    # Causal: query 0 sees only key 0 -> weights [1, 0], output x0 = [a, 0]; query 1 is unchanged.
    m = nn.MultiheadAttention(2, 1, bias=False, batch_first=True).double()
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.cat([torch.eye(2)] * 3))
        m.out_proj.weight.copy_(torch.eye(2))
    a = math.sqrt(math.sqrt(2) * math.log(3))
    x = torch.tensor([[[a, 0.0], [0.0, a]]], dtype=torch.float64)
    t = trace_attention(m, x)
    assert torch.allclose(t.scores[0, 0], torch.tensor([[math.log(3), 0], [0, math.log(3)]], dtype=torch.float64))
    assert torch.allclose(t.weights[0, 0], torch.tensor([[0.75, 0.25], [0.25, 0.75]], dtype=torch.float64))
    assert torch.allclose(t.output[0], torch.tensor([[0.75 * a, 0.25 * a], [0.25 * a, 0.75 * a]], dtype=torch.float64))
    c = trace_attention(m, x, is_causal=True)
    assert c.weights[0, 0].tolist() == [[1.0, 0.0], pytest.approx([0.25, 0.75])]
    assert torch.allclose(c.manual[0, 0], torch.tensor([a, 0.0], dtype=torch.float64))
    terms = t.score_terms(0, 0, 0, 0)
    assert terms.products.tolist() == pytest.approx([a * a, 0.0])
    assert terms.raw * terms.scale == pytest.approx(math.log(3))


def test_masks_give_exact_zeros():
    m = ex.make_layer("multihead", 8, 2, seed=3)
    q, k, v = ex.random_inputs(2, 4, 6, 8, seed=1)
    pad = torch.tensor([[False] * 4 + [True] * 2, [False] * 6])
    block = ex.custom_mask([(0, 1), (3, 2)], 4, 6)
    t = trace_attention(m, q, k, v, attn_mask=block, key_padding_mask=pad)
    assert (t.weights[0, :, :, 4:] == 0).all()
    assert (t.weights[:, :, 0, 1] == 0).all() and (t.weights[:, :, 3, 2] == 0).all()
    assert torch.isneginf(t.scores[0, :, :, 4:]).all()
    assert (t.weights[1, :, :, 4:] > 0).all()
    assert t.max_abs_error < 1e-5


def _additive_by_loops(att, q, k, v, pad, block=None):
    """Bahdanau attention with Python loops and math.exp, for float64 inputs (B, L, E); pad (B, S) and
    block (L, S) are True where a key is hidden."""
    Wq, Wk, vv = (p.detach().double() for p in (att.w_q.weight, att.w_k.weight, att.v.weight[0]))
    B, L, S = q.shape[0], q.shape[1], k.shape[1]
    out = torch.zeros(B, L, v.shape[-1], dtype=torch.float64)
    weights = torch.zeros(B, L, S, dtype=torch.float64)
    for b in range(B):
        for i in range(L):
            e = [float(vv @ torch.tanh(Wq @ q[b, i] + Wk @ k[b, j])) for j in range(S)]
            top = max(e[j] for j in range(S) if not (pad[b, j] or (block is not None and block[i, j])))
            ex_ = [0.0 if pad[b, j] or (block is not None and block[i, j]) else math.exp(e[j] - top)
                   for j in range(S)]
            for j in range(S):
                weights[b, i, j] = ex_[j] / sum(ex_)
                out[b, i] += weights[b, i, j] * v[b, j]
    return out, weights


def test_additive_matches_independent_recomputation():
    att = ex.make_layer("additive", 4, kdim=3, hidden_dim=5, seed=7, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    q, k, v = _randn(g, 2, 3, 4), _randn(g, 2, 5, 3), _randn(g, 2, 5, 6)
    pad = torch.tensor([[False, False, False, True, True], [False] * 5])
    before = copy.deepcopy(att.state_dict())
    t = trace_attention(att, q, k, v, key_padding_mask=pad)
    out, weights = _additive_by_loops(att, q, k, v, pad)
    assert t.kind == "additive" and t.num_heads == 1 and t.output.shape == (2, 3, 6)
    assert float((t.output - out).abs().max()) < 1e-12
    assert float((t.manual - out).abs().max()) < 1e-12
    assert float((t.weights[:, 0] - weights).abs().max()) < 1e-12
    assert (t.weights[0, 0, :, 3:] == 0).all()
    assert all(torch.equal(before[k_], p) for k_, p in att.state_dict().items())
    with torch.no_grad():
        raw = float(att.v.weight[0] @ torch.tanh(att.w_q.weight @ q[1, 2] + att.w_k.weight @ k[1, 4]))
    assert t.score_terms(1, 0, 2, 4).raw == pytest.approx(raw)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(E=st.integers(1, 5), kdim=st.sampled_from([None, 2, 4]), hidden=st.sampled_from([None, 1, 3, 6]),
       B=st.integers(1, 3), L=st.integers(1, 4), S=st.integers(1, 5), vdim=st.integers(1, 4),
       pad=st.booleans(), masked=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64]),
       seed=st.integers(0, 2**16))
def test_additive_matches_loops_for_any_config(E, kdim, hidden, B, L, S, vdim, pad, masked, dtype, seed):
    att = ex.make_layer("additive", E, kdim=kdim, hidden_dim=hidden, seed=seed, dtype=dtype)
    g = torch.Generator().manual_seed(seed)
    q, k = _randn(g, B, L, E, dtype=dtype), _randn(g, B, S, kdim or E, dtype=dtype)
    v = _randn(g, B, S, vdim, dtype=dtype)
    kpm = (torch.rand(B, S, generator=g) < 0.4) if pad else torch.zeros(B, S, dtype=torch.bool)
    kpm[:, 0] = False
    block = torch.rand(L, S, generator=g) < 0.3 if masked else torch.zeros(L, S, dtype=torch.bool)
    block[:, 0] = False
    t = trace_attention(att, q, k, v, attn_mask=block if masked else None, key_padding_mask=kpm if pad else None)
    out, weights = _additive_by_loops(att, q.double(), k.double(), v.double(), kpm, block=block)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert t.manual.dtype == t.output.dtype == dtype
    assert float((t.output.double() - out).abs().max()) <= tol * max(1.0, float(out.abs().max()))
    assert float((t.weights[:, 0].double() - weights).abs().max()) <= tol
    assert t.max_abs_error <= tol * max(1.0, float(out.abs().max()))
    assert bool((t.weights[:, 0][kpm.unsqueeze(1).expand(B, L, S) | block] == 0).all())


def test_hand_worked_additive_example():
    # E = kdim = H = 1, W_q = W_k = 1, v = 2: score(q, k) = 2 tanh(q + k).
    # Query 0; keys 0 and atanh(ln(2) / 2): scores 0 and ln 2, so exp gives 1 and 2 and the weights
    # are 1/3 and 2/3. Values 1 and 4 mix to 1/3 + 8/3 = 3.
    att = AdditiveAttention(1, hidden_dim=1).double()
    with torch.no_grad():
        att.w_q.weight.fill_(1.0)
        att.w_k.weight.fill_(1.0)
        att.v.weight.fill_(2.0)
    q = torch.zeros(1, 1, 1, dtype=torch.float64)
    k = torch.tensor([[[0.0], [math.atanh(math.log(2) / 2)]]], dtype=torch.float64)
    v = torch.tensor([[[1.0], [4.0]]], dtype=torch.float64)
    t = trace_attention(att, q, k, v)
    assert t.scores[0, 0, 0].tolist() == pytest.approx([0.0, math.log(2)])
    assert t.weights[0, 0, 0].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert float(t.output[0, 0, 0]) == pytest.approx(3.0)
    terms = t.score_terms(0, 0, 0, 1)
    assert terms.hidden.tolist() == pytest.approx([math.log(2) / 2])
    assert terms.score == pytest.approx(math.log(2)) and terms.scale == 1.0
    # masking key 1 leaves key 0 the whole weight, so the output is its value
    t = trace_attention(att, q, k, v, key_padding_mask=torch.tensor([[False, True]]))
    assert t.weights[0, 0, 0].tolist() == [1.0, 0.0] and float(t.output[0, 0, 0]) == 1.0


def test_query_row_of_the_hand_worked_example():
    # the 2-token example of test_hand_worked_two_tokens: row 1 has scores [0, ln 3], so exp(s - max)
    # = [1/3, 1] sums to 4/3 and the weights are [1/4, 3/4]. Masking key 1 of row 0 (weights
    # [3/4, 1/4] unmasked) leaves key 0 with 3/4 renormalized by 3/4: weight 1.
    m = nn.MultiheadAttention(2, 1, bias=False, batch_first=True).double()
    with torch.no_grad():
        m.in_proj_weight.copy_(torch.cat([torch.eye(2)] * 3))
        m.out_proj.weight.copy_(torch.eye(2))
    a = math.sqrt(math.sqrt(2) * math.log(3))
    x = torch.tensor([[[a, 0.0], [0.0, a]]], dtype=torch.float64)
    r = trace_attention(m, x).query_row(0, 0, 1)
    assert r.exp.tolist() == pytest.approx([1 / 3, 1.0]) and r.total == pytest.approx(4 / 3)
    assert r.top == pytest.approx(math.log(3)) and r.weights.tolist() == pytest.approx([0.25, 0.75])
    assert r.output.tolist() == pytest.approx([0.25 * a, 0.75 * a])
    assert r.values.shape == (2, 2) and r.mask.tolist() == [0.0, 0.0]
    masked = trace_attention(m, x, attn_mask=torch.tensor([[False, True], [False, False]])).query_row(0, 0, 0)
    assert masked.unmasked.tolist() == pytest.approx([0.75, 0.25])
    assert masked.weights.tolist() == [1.0, 0.0] and masked.exp.tolist() == [1.0, 0.0]
    assert masked.mask.tolist() == [0.0, -math.inf] and masked.scores[1] == -math.inf
    with pytest.raises(ExplorerError, match="query index 2"):
        trace_attention(m, x).query_row(0, 0, 2)


def test_additive_unbatched_self_attention_and_causal():
    att = ex.make_layer("additive", 3, seed=1)
    x = ex.random_inputs(1, 4, 4, 3, seed=5)[0][0]
    t = trace_attention(att, x, is_causal=True)
    assert t.output.shape == (4, 3) and not t.batched
    assert t.max_abs_error < 1e-6 and t.weights_error < 1e-6
    assert (t.weights[0, 0].triu(1) == 0).all()


def test_stages_match_tensor_shapes():
    m = ex.make_layer("multihead", 8, 4, kdim=3, vdim=5, seed=0)
    q, k, v = ex.random_inputs(2, 3, 6, 8, kdim=3, vdim=5, seed=0)
    t = trace_attention(m, q, k, v)
    shapes = {s.name: s.shape for s in t.stages()}
    assert shapes["split heads"] == tuple(t.q.shape) == (2, 4, 3, 2)
    assert shapes["scores"] == shapes["weights"] == tuple(t.weights.shape) == (2, 4, 3, 6)
    assert shapes["concat"] == tuple(t.concat.shape) and shapes["output"] == tuple(t.output.shape)


def test_temperature_and_entropy():
    m = ex.make_layer("multihead", 16, 2, seed=4, dtype=torch.float64)
    x = ex.random_inputs(1, 6, 6, 16, seed=4, dtype=torch.float64)[0]
    pad = torch.tensor([[False] * 4 + [True] * 2])
    t = trace_attention(m, x, key_padding_mask=pad)
    assert torch.allclose(temperature(t, 1.0).weights, t.weights, atol=1e-12)
    flat = temperature(t, 0.0)
    assert torch.allclose(flat.weights[..., :4], torch.full((1, 2, 6, 4), 0.25, dtype=torch.float64))
    assert torch.allclose(flat.entropy, torch.full((1, 2, 6), math.log(4), dtype=torch.float64))
    curve = entropy_curve(t, [0.0, 0.5, 1.0, 4.0, 64.0], b=0, head=1)
    assert bool((curve[1:] <= curve[:-1] + 1e-12).all())
    assert float(curve[-1]) < 0.1 * math.log(4)
    with pytest.raises(ExplorerError, match="multiplier"):
        temperature(t, -1)


def test_seeded_and_free_of_global_random_state():
    state = torch.get_rng_state()
    m = ex.make_layer("multihead", 8, 2, seed=9)
    ex.make_layer("additive", 8, kdim=3, seed=9)
    x = ex.embed_sentences("hello world", 8).x
    trace_attention(m, x)
    assert torch.equal(state, torch.get_rng_state())  # building and tracing never touch the shared generator
    torch.rand(3)  # moving the global generator must not change a seeded layer or embedding
    assert torch.equal(ex.make_layer("multihead", 8, 2, seed=9).in_proj_weight, m.in_proj_weight)
    assert torch.equal(ex.embed_sentences("hello world", 8).x, x)


# -- examples ------------------------------------------------------------------------------------
def test_tokenize_and_sentences():
    assert ex.tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    s = ex.embed_sentences(["the cat", "the cat sat on it"], 6, positional=False)
    assert s.tokens[0] == ["the", "cat", ex.PAD, ex.PAD, ex.PAD]
    assert s.key_padding_mask.tolist()[0] == [False, False, True, True, True]
    assert torch.equal(s.x[0, 0], s.x[1, 0]) and torch.equal(s.x[0, 0], ex.token_vector("the", 6))
    assert (s.x[0, 2:] == 0).all()  # padding_idx row is zero
    src, tgt = ex.sentence_pair(*ex.PAIRS[0], 8)
    t = trace_attention(ex.make_layer("multihead", 8, 2), tgt.x, src.x, src.x)
    assert t.weights.shape == (1, 2, len(tgt.tokens[0]), len(src.tokens[0]))


def test_seeded_layer_values():
    m = ex.make_layer("multihead", 8, 2, seed=4, kdim=3, vdim=5)
    g = torch.Generator().manual_seed(4)
    for name, p in m.named_parameters():  # drawn in this order, N(0, 1/fan_in) weights and N(0, 0.01) biases
        want = torch.randn(p.shape, generator=g) * (0.1 if name.endswith("bias") else 1 / math.sqrt(p.shape[-1]))
        assert torch.allclose(p.detach(), want, rtol=0, atol=1e-7), name
    assert not m.training and float(m.in_proj_bias.detach().abs().sum()) > 0


def test_pad_tokens_are_appended_and_masked():
    s = ex.embed_sentences(["a b c", "d"], 4, pads=2)
    assert s.tokens == [["a", "b", "c", ex.PAD, ex.PAD], ["d", ex.PAD, ex.PAD, ex.PAD, ex.PAD]]
    assert s.key_padding_mask.tolist() == [[False] * 3 + [True] * 2, [False] + [True] * 4]
    # a pad's embedding row is zero, so what is left at a pad position is its positional encoding
    assert torch.allclose(s.x[0, 3], ex.positional_encoding(5, 4)[3])
    src, tgt = ex.sentence_pair("x y", "u v w", 4, pads=1)
    assert src.tokens[0] == ["x", "y", ex.PAD] and tgt.tokens[0] == ["u", "v", "w"]
    with pytest.raises(ExplorerError, match="pad tokens must be a whole number"):
        ex.embed_sentences("a", 4, pads=-1)
    with pytest.raises(ExplorerError, match="65 positions"):
        ex.embed_sentences("a " * 60, 4, pads=5)


def test_positional_encoding_formula():
    pe = ex.positional_encoding(7, 5, dtype=torch.float64)
    for p in range(7):
        for i in range(5):
            angle = p / 10000 ** ((i - i % 2) / 5)
            assert float(pe[p, i]) == pytest.approx(math.sin(angle) if i % 2 == 0 else math.cos(angle))


@pytest.mark.parametrize("call, match", [
    (lambda: ex.tokenize("   "), "at least one word"),
    (lambda: ex.tokenize("a " * 65), "65 tokens"),
    (lambda: ex.custom_mask([(2, 0)], 2, 3), "outside"),
    (lambda: ex.make_layer("multihead", 6, 4), "split evenly"),
    (lambda: ex.make_layer("rnn"), "Unknown attention kind"),
    (lambda: AdditiveAttention(0), "positive whole number"),
])
def test_example_errors(call, match):
    with pytest.raises(ExplorerError, match=match):
        call()


# -- every ExplorerError path of the trace ----------------------------------------------------------
def _mha(**kw):
    return ex.make_layer("multihead", 4, 2, seed=0, **kw)


X = torch.ones(1, 3, 4)
ERRORS = [
    (lambda: trace_attention(nn.Linear(4, 4), X), "takes one of MultiheadAttention, AdditiveAttention"),
    (lambda: trace_attention(_mha(), torch.ones(1, 3, 5)), "5 numbers but the layer's embed_dim is 4"),
    (lambda: trace_attention(_mha(kdim=3, vdim=3), X, torch.ones(1, 2, 4), torch.ones(1, 2, 3)), "kdim is 3"),
    (lambda: trace_attention(_mha(kdim=3, vdim=3), X, torch.ones(1, 2, 3), torch.ones(1, 2, 4)), "vdim is 3"),
    (lambda: trace_attention(_mha(), X, torch.ones(2, 3, 4)), "batch size 1 but the key has 2"),
    (lambda: trace_attention(_mha(), X, torch.ones(1, 3, 4), torch.ones(1, 2, 4)), "3 keys but 2 values"),
    (lambda: trace_attention(_mha(), X.long()), "floating-point"),
    (lambda: trace_attention(_mha(), [[1.0]]), "must be a torch.Tensor"),
    (lambda: trace_attention(_mha(), X * math.nan), "NaN or infinity"),
    (lambda: trace_attention(_mha(), X.double()), "parameters are torch.float32"),
    (lambda: trace_attention(_mha(), X, X.double()), "the key is torch.float64"),
    (lambda: trace_attention(_mha(), torch.ones(1, 1, 3, 4)), "expects \\(B, L, E\\)"),
    (lambda: trace_attention(_mha(), X, torch.ones(3, 4)), "has 2"),
    (lambda: trace_attention(_mha(), torch.ones(1, 0, 4)), "at least one position"),
    (lambda: trace_attention(_mha(), X, attn_mask=torch.zeros(3, 2, dtype=torch.bool)), "must be \\(L, S\\) = \\(3, 3\\)"),
    (lambda: trace_attention(_mha(), X, attn_mask=torch.zeros(1, 3, 3)), "\\(B \\* heads, L, S\\) = \\(2, 3, 3\\)"),
    (lambda: trace_attention(_mha(), X, attn_mask=torch.zeros(3, 3, dtype=torch.int64)), "bool .* or float"),
    (lambda: trace_attention(_mha(), X, attn_mask=torch.full((3, 3), math.nan)), "NaN or \\+infinity"),
    (lambda: trace_attention(_mha(), X, key_padding_mask=torch.zeros(3, dtype=torch.bool)), "\\(B, S\\) = \\(1, 3\\)"),
    (lambda: trace_attention(_mha(), X, key_padding_mask=torch.ones(1, 3, dtype=torch.bool)), "every key masked"),
    (lambda: trace_attention(_mha(), X, attn_mask=torch.ones(3, 3).triu().bool()), "Query 0 .*nothing to attend to"),
    (lambda: trace_attention(_mha(), X, attn_mask=torch.zeros(3, 3), is_causal=True), "either is_causal"),
    (lambda: trace_attention(nn.MultiheadAttention(4, 2, add_bias_kv=True), X.transpose(0, 1)), "add_bias_kv"),
    (lambda: trace_attention(nn.MultiheadAttention(4, 2, add_zero_attn=True), X.transpose(0, 1)), "add_zero_attn"),
    (lambda: trace_attention(nn.MultiheadAttention(4, 2, dropout=0.1), X.transpose(0, 1)), "module.eval\\(\\)"),
    (lambda: trace_attention(ex.make_layer("additive", 4), X, attn_mask=torch.zeros(2, 3, 3)), "\\(B, L, S\\) = \\(1, 3, 3\\)"),
    (lambda: trace_attention(_mha(), X).score_terms(0, 2, 0, 0), "head index 2"),
]


@pytest.mark.parametrize("call, match", ERRORS)
def test_errors(call, match):
    with pytest.raises(ExplorerError, match=match):
        call()


def test_seq_first_layout_and_unbatched():
    m = _mha(batch_first=False)
    x = ex.random_inputs(2, 3, 3, 4, seed=1)[0]
    t = trace_attention(m, x.transpose(0, 1))
    assert t.output.shape == (3, 2, 4) and t.q.shape == (2, 2, 3, 2)
    assert torch.allclose(t.q[1], trace_attention(m, x[1]).q[0])
