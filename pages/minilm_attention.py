"""A real pretrained transformer's attention heads, each one recomputed by our own attention math."""
import pandas as pd
import streamlit as st

from explorer import minilm
from explorer.figures import attention as att_figures
from explorer.figures import minilm as figures
from explorer.figures.theme import plain
from ui import classroom, panels
from ui.state import BIND, keep_option, key

PAGE = "minilm"
DEFAULT = "The cat sat on the mat because it was tired."
TOL = 1e-5

panels.header("Attention in a pretrained transformer", "**all-MiniLM-L6-v2** is a real sentence encoder: 6 layers "
              "of 12 attention heads over word pieces, hidden size 384, trained on a billion sentence pairs. Type a "
              "sentence and see who attends to whom. Every head shown is recomputed by our own step-by-step "
              "attention from that layer's real query and key weights and its real input, and checked against "
              "the attention the model itself reports.")
classroom.tour(PAGE, [
    "The grid shows all 72 heads at once (rows are layers). Several heads look at the next or the previous "
    "word piece: a diagonal just beside the middle one. **Click a thumbnail** to look closer.",
    "Look for heads whose weights pile up in the [CLS] or [SEP] column: a common way for a head to 'do "
    "nothing' for most words.",
    "Type *The trophy did not fit in the suitcase because it was too big.* and search layers 2 to 5 for a "
    "head where **it** attends to a noun (layer 4, head 3 is one). Step through the queries with the slider "
    "under the lines view.",
    "In the math panel, pick a query word piece: its query vector q is compared with every key k_j, the "
    "scores are scaled by 1/√32, and the softmax turns them into weights that add up to 1.",
    "Turn on **Predict before you look**: from the scores alone, say how large the biggest weight will be.",
])


@st.cache_resource(show_spinner="Loading all-MiniLM-L6-v2 from the installed package…")
def model():
    """(tokenizer, model), loaded once per server; read-only."""
    return minilm.load()


# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=32, show_spinner=False)
def encoded(sentence):
    tokenizer, m = model()
    return minilm.encode(tokenizer, m, sentence)


# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def traced(sentence, layer):
    return minilm.trace_layer(model()[1], encoded(sentence), layer)


@st.cache_data(max_entries=32, show_spinner=False)
def errors(sentence):
    """(layers, heads) largest difference between our weights and the model's, every head checked."""
    enc = encoded(sentence)
    return minilm.head_errors(model()[1], enc, {layer: traced(sentence, layer) for layer in range(enc.layers)})


@st.cache_data(max_entries=64, show_spinner=False)
def model_view(sentence, layer, head):
    return plain(figures.model_view(encoded(sentence).attentions, (layer, head)))


@st.cache_data(max_entries=64, show_spinner=False)
def head_figures(sentence, layer, head, query):
    trace, tokens = traced(sentence, layer), encoded(sentence).tokens
    return (plain(att_figures.weights_heatmap(trace, 0, head, tokens, tokens, selected=query)),
            plain(att_figures.lines_view(trace, 0, head, tokens, tokens, selected=query)),
            plain(figures.query_view(trace, tokens, head, query)))


with st.expander("Sentence", expanded=not classroom.presenting()):
    sentence = st.text_input("Sentence", DEFAULT, max_chars=minilm.MAX_CHARS, key=key(PAGE, "text"), bind=BIND,
                             help=f"Up to {minilm.MAX_TOKENS} word pieces, [CLS] and [SEP] included.")

with panels.explorer_errors():
    enc = encoded(sentence)
    tokens = enc.tokens
    trace_errors = errors(sentence)
st.caption(f"{len(tokens)} word pieces: " + " · ".join(f"`{t}`" for t in tokens))

with st.expander("Layer, head and query", expanded=not classroom.presenting()):
    c = st.columns(3)
    layer = int(c[0].selectbox("Layer", range(enc.layers), key=key(PAGE, "layer"), bind=BIND))
    head = int(c[1].selectbox("Head", range(enc.heads), key=key(PAGE, "head"), bind=BIND))
    options = [f"{i}: {t}" for i, t in enumerate(tokens)]
    keep_option(key(PAGE, "query"), options)
    first = 8 if len(tokens) > 8 else 0  # "it" in the default sentence
    query = options.index(c[2].selectbox("Query word piece", options, index=first, key=key(PAGE, "query"),
                                         bind=BIND))
with panels.explorer_errors():
    trace = traced(sentence, layer)


def select_head(point):
    """A click on a thumbnail selects that layer and head."""
    custom = point.get("customdata")
    if isinstance(custom, list) and len(custom) == 2:
        st.session_state.update({key(PAGE, "layer"): int(custom[0]), key(PAGE, "head"): int(custom[1])})


st.subheader("Model view: every head of every layer")
view = model_view(sentence, layer, head)
st.caption("Rows are layers 0-5, columns heads 0-11; each thumbnail is one head's attention map (queries down, keys "
           "across, brighter = more weight). **Click a thumbnail** to select its head; the orange frame marks it."
           + (f" Thumbnails show {view['layout']['meta']['shown']} of the {len(tokens)} word pieces, evenly "
              "spread." if view["layout"]["meta"]["thinned"] else ""))
panels.chart(view, key="minilm-model-view", on_click=select_head)

heat, lines, qview = head_figures(sentence, layer, head, query)
st.subheader(f"Layer {layer}, head {head}")
c1, c2 = st.columns(2)
with c1:
    panels.chart(heat, key="minilm-heatmap")
with c2:
    panels.chart(lines, key="minilm-lines")
    st.caption("Drag the slider or press ▶ to step through the queries in your browser.")

# -- the math of one query -----------------------------------------------------------------------------
st.subheader(f"The math of head {head} for the query “{tokens[query]}”")
st.caption("The slider under this chart steps through the queries here too; the table below is for the query "
           "chosen above.")
panels.chart(qview, key="minilm-query")
math = minilm.query_math(trace, head, query)
model_weights = enc.attentions[layer][0, head, query]
top = int(math.weights.argmax())
revealed = classroom.predict(f"{PAGE}.predict", f"the largest weight of “{tokens[query]}” (on “{tokens[top]}”)",
                             float(math.weights[top]))
table = pd.DataFrame({"key": [f"{j}: {t}" for j, t in enumerate(tokens)], "q · k": math.raw.tolist(),
                      f"score = q·k / √{trace.head_dim}": math.scores.tolist(),
                      "weight (ours)": math.weights.tolist() if revealed else None,
                      "weight (model)": model_weights.tolist() if revealed else None})
st.dataframe(table, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(tokens)))
terms = " + ".join(f"({a:.3g})·({b:.3g})" for a, b in zip(math.q[:4].tolist(), math.k[top, :4].tolist()))
st.markdown(f"q = x W_q + b_q is this head's {trace.head_dim}-number slice of the query projection of "
            f"“{tokens[query]}”. Its score against “{tokens[top]}” is q · k = {terms} + … "
            f"({trace.head_dim - 4} more) "
            f"= {float(math.raw[top]):.4f}, times 1/√{trace.head_dim} = {math.scale:.4f} gives "
            f"**{float(math.scores[top]):.4f}**.")
if revealed:
    st.markdown(f"softmax: weight_j = exp(s_j − max s) / Σ exp(s − max s) = exp({float(math.scores[top]):.4f} − "
                f"{float(math.scores.max()):.4f}) / {math.denominator:.4f} = **{float(math.weights[top]):.4f}**; "
                f"the model itself reports **{float(model_weights[top]):.4f}**.")
else:
    st.caption("The weights are hidden until you check your prediction.")

# -- the checks ----------------------------------------------------------------------------------------
head_err, worst = float(trace_errors[layer, head]), float(trace_errors.max())
ok = head_err <= TOL and worst <= TOL
(st.success if ok else st.error)(
    f"{'✓' if ok else '✗'} Our step-by-step weights of layer {layer}, head {head} match the attentions the model "
    f"reports: largest difference **{head_err:.1e}**. Over all {enc.layers * enc.heads} heads of this sentence: "
    f"{worst:.1e} (tolerance {TOL:g}).")
panels.check_badge(trace, what="step-by-step recomputation of this layer's attention output")
with st.expander("Every head, checked: largest |our weight − the model's weight|"):
    st.dataframe(pd.DataFrame(trace_errors.double().numpy(), index=[f"layer {i}" for i in range(enc.layers)],
                              columns=[f"head {h}" for h in range(enc.heads)]).map(lambda v: f"{v:.1e}"),
                 width="stretch")

with st.expander("Shapes and parameters"):
    cfg = model()[1].config
    E, d = cfg.hidden_size, trace.head_dim
    panels.shapes_panel([
        ("word pieces L", f"{len(tokens)}"),
        ("layer input x (hidden states)", f"{tuple(enc.hidden[layer].shape)}"),
        ("W_q, W_k, W_v", f"3 × ({E}, {E}): {enc.heads} heads × {d} dimensions each"),
        ("q, k, v of one head", f"({len(tokens)}, {d})"),
        ("attention weights", f"{tuple(enc.attentions[layer].shape)} (batch, heads, queries, keys)"),
        ("attention parameters per layer", f"{4 * (E * E + E):,} (Q, K, V and output projections)"),
        ("whole model", f"{sum(p.numel() for p in model()[1].parameters()):,} parameters"),
    ])

st.subheader("Reproduce it in PyTorch")
st.caption("Loads the same packaged model, prints its own weights for this head and query, then the same weights "
           "recomputed by hand.")
panels.code_box(minilm.snippet(sentence, layer, head, query), "minilm_attention.py")
panels.csv_download({"tokens": pd.DataFrame({"word piece": tokens}),
                     f"layer {layer} head {head} weights (rows = queries)": pd.DataFrame(
                         trace.weights[0, head].double().numpy(), index=list(tokens), columns=list(tokens)),
                     f"query {query} math": table,
                     "every head's largest difference": pd.DataFrame(trace_errors.double().numpy())},
                    "minilm_attention.csv")
panels.page_end(PAGE)
