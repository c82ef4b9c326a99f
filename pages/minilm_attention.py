"""A real pretrained transformer's attention heads, each one recomputed by our own attention math."""
import pandas as pd
import streamlit as st

from explorer import minilm
from explorer.figures import attention as att_figures
from explorer.figures import minilm as figures
from ui import classroom, panels
from ui.state import BIND, clamp, key

PAGE = "minilm"

panels.header("Attention in a pretrained transformer", "**all-MiniLM-L6-v2** is a real sentence encoder: 6 "
              "layers of 12 attention heads over word pieces, hidden size 384. Type a sentence and look at who "
              "attends to whom. Every head shown is recomputed by our own step-by-step attention from that "
              "layer's real query and key weights and its real input, and checked against the attention the "
              "model itself reports.")
classroom.tour(PAGE, [
    "The grid shows all 72 heads at once (rows are layers). Many heads in early layers look at the next or "
    "previous word piece: a diagonal just off the middle.",
    "Pick layer 0 and a head whose map is a diagonal band: that head passes information between neighbours.",
    "Look for heads whose weights pile up on [CLS] or [SEP]: a common way for a head to 'do nothing'.",
    "Type a sentence with a pronoun (\"The trophy did not fit in the suitcase because it was too big\") and "
    "look for a head where 'it' attends to a noun.",
    "Pick a query word piece: the math panel shows its query vector's scores against every key, scaled by "
    "1/√32, and the softmax that turns them into weights.",
])


@st.cache_resource(show_spinner="Loading all-MiniLM-L6-v2 from the installed package…")
def model():
    """Loaded once per server; read-only."""
    return minilm.load()


@st.cache_data(max_entries=32, show_spinner=False)
def encoded(sentence):
    tokenizer, m = model()
    return minilm.encode(tokenizer, m, sentence)


@st.cache_data(max_entries=64, show_spinner=False)
def traced(sentence, layer):
    return minilm.trace_layer(model()[1], encoded(sentence), layer)


with st.expander("Sentence", expanded=not classroom.presenting()):
    sentence = st.text_input("Sentence", "The cat sat on the mat because it was tired.", max_chars=300,
                             key=key(PAGE, "text"), bind=BIND)

with panels.explorer_errors():
    enc = encoded(sentence)
tokens = enc.tokens
c = st.columns(3)
layer = c[0].selectbox("Layer", range(len(enc.attentions)), key=key(PAGE, "layer"), bind=BIND)
head = c[1].selectbox("Head", range(enc.attentions[0].shape[1]), key=key(PAGE, "head"), bind=BIND)
clamp(key(PAGE, "query"), 0, len(tokens) - 1)
query = c[2].selectbox("Query word piece", range(len(tokens)), format_func=lambda i: f"{i}: {tokens[i]}",
                       key=key(PAGE, "query"), bind=BIND)
with panels.explorer_errors():
    trace = traced(sentence, int(layer))

st.subheader("Model view: every head of every layer")
st.caption("Rows are layers 0-5, columns heads 0-11; each thumbnail is a head's attention map "
           "(rows = queries, columns = keys). The orange square is the selected head.")
panels.chart(figures.model_view(enc.attentions, (int(layer), int(head))), key="minilm-model-view")

c1, c2 = st.columns(2)
with c1:
    panels.chart(att_figures.weights_heatmap(trace, 0, int(head), tokens, tokens, selected=int(query)),
                 key="minilm-heatmap")
with c2:
    panels.chart(att_figures.lines_view(trace, 0, int(head), tokens, tokens, selected=int(query)),
                 key="minilm-lines")

st.subheader(f"The math of head {head} for the query “{tokens[int(query)]}”")
h, i = int(head), int(query)
scale = trace.scale
raw = trace.raw_scores[0, h, i]
weights = trace.weights[0, h, i]
model_weights = enc.attentions[int(layer)][0, h, i]
revealed = classroom.predict(f"{PAGE}.predict", f"the largest weight of “{tokens[i]}”",
                             float(weights.max()))
table = pd.DataFrame({"key": tokens, "q · k": raw.tolist(), f"× 1/√{trace.head_dim}": (raw * scale).tolist(),
                      "softmax (ours)": weights.tolist() if revealed else None,
                      "model's attention": model_weights.tolist() if revealed else None})
st.dataframe(table, hide_index=True, width="stretch")
st.markdown(f"q = x W_q + b_q for this head is a {trace.head_dim}-vector; each score is q · k_j, scaled by "
            f"1/√{trace.head_dim} = {scale:.4f}; the softmax exp(s_j − max) / Σ exp(s − max) turns the scores "
            "into weights that sum to 1.")
err = float((trace.weights[0] - enc.attentions[int(layer)][0]).abs().max())
tol = 1e-5
(st.success if err <= tol else st.error)(
    f"{'✓' if err <= tol else '✗'} Our recomputed weights of layer {layer} (all 12 heads) agree with the "
    f"attentions the model reports: largest difference {err:.1e}.")
panels.check_badge(trace, what="step-by-step recomputation of the layer's attention output")

with st.expander("Shapes and parameters"):
    cfg = model()[1].config
    panels.shapes_panel([
        ("word pieces", f"{len(tokens)}"),
        ("layer input (hidden states)", str(tuple(enc.hidden[int(layer)].shape))),
        ("query/key/value weights", f"3 × ({cfg.hidden_size}, {cfg.hidden_size}) = 12 heads × {trace.head_dim} dims"),
        ("attention weights", str(tuple(enc.attentions[int(layer)].shape)) + " (batch, heads, queries, keys)"),
        ("attention parameters per layer", f"{4 * (cfg.hidden_size ** 2 + cfg.hidden_size):,}"),
    ])
panels.csv_download({f"layer {layer} head {head} weights": pd.DataFrame(
    trace.weights[0, h].double().numpy(), index=tokens, columns=tokens)}, "minilm_attention.csv")
panels.page_end(PAGE)
