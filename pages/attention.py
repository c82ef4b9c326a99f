"""Attention: every query scores every key, a softmax turns the scores into weights, the weights mix the values."""
import math

import pandas as pd
import streamlit as st

from explorer import ExplorerError
from explorer import attention_config as ac
from explorer.examples import attention as examples
from explorer.figures import attention as figures
from ui import classroom, panels
from ui.state import BIND, clamp, keep_option, key

PAGE = "attention"
DIMS = (4, 8, 12, 16, 24, 32, 48, 64)
SAME = "same as embed_dim"
SIZES = (SAME,) + DIMS
WEIGHTS = ("average over heads", "per head")
SOURCES = {"typed sentence": "sentence", "random tensors": "random"}

panels.header("Attention", "Every **query** token scores every **key** token, a softmax turns each query's "
              "scores into **weights** that sum to 1, and the weights mix the **values** into the output: "
              "softmax(Q Kᵀ / √d + M) V. Multi-head attention does this in several heads at once; Bahdanau's "
              "additive attention scores each pair with a tiny network instead of a dot product.")
classroom.tour(PAGE, [
    "Hover a word on the left of the **lines view**: its hover lists who it attends to. Press ▶ under it to "
    "step through the queries; thick lines are large weights.",
    "Pick another **head**: each head has its own projections, so it spreads its attention differently. "
    "The grid below shows all heads side by side.",
    "Turn on the **causal mask**: the upper triangle becomes −∞ before the softmax and exactly 0 after it, "
    "and every row still sums to 1. Then click a few cells of the heatmap to mask them yourself.",
    "Add **pad tokens** under Input and switch the key padding mask off and on: without it, real words "
    "waste attention on padding.",
    "Drag the **scale** slider in *Why divide by √d*: without 1/√d (×√d) the rows collapse onto one key and "
    "their entropy drops towards 0.",
    "Turn on **Predict before you look**, pick a key, and work out the weight from the scores by hand.",
])

# -- controls -------------------------------------------------------------------------------------
with st.expander("Layer", expanded=not classroom.presenting()):
    c = st.columns(5)
    kind = ac.KINDS[c[0].selectbox("Layer", tuple(ac.KINDS), key=key(PAGE, "kind"), bind=BIND)]
    embed_dim = int(c[1].selectbox("embed_dim", DIMS, index=DIMS.index(32), key=key(PAGE, "E"), bind=BIND,
                                   help="E: the size of each query vector."))
    heads, bias, batch_first, average, hidden_dim = 1, False, True, True, None
    if kind == "multihead":
        divisors = [h for h in range(1, 17) if embed_dim % h == 0]
        keep_option(key(PAGE, "heads"), divisors)
        heads = int(c[2].selectbox("num_heads", divisors, index=divisors.index(4) if 4 in divisors else 0,
                                   key=key(PAGE, "heads"), bind=BIND,
                                   help="E is split into heads of size d = E / num_heads; only divisors of E."))
        bias = c[3].toggle("bias", True, key=key(PAGE, "bias"), bind=BIND,
                           help="Biases on the query/key/value and output projections.")
        batch_first = c[3].toggle("batch_first", True, key=key(PAGE, "bf"), bind=BIND,
                                  help="The layer takes (B, L, E) if on, (L, B, E) if off. The numbers stay "
                                       "the same; the snippet shows the layout.")
        average = c[4].radio("need_weights", WEIGHTS, key=key(PAGE, "avg"), bind=BIND,
                             help="What the layer returns besides its output: the weights averaged over "
                                  "heads (average_attn_weights=True) or one map per head.") == WEIGHTS[0]
    else:
        hidden = c[2].selectbox("hidden_dim", SIZES, key=key(PAGE, "hidden"), bind=BIND,
                                help="Size of the scoring network's hidden layer: score = vᵀ tanh(W_q q + W_k k).")
        hidden_dim = None if hidden == SAME else int(hidden)
    dtype = c[4 if kind == "additive" else 3].selectbox("dtype", ("float32", "float64"), key=key(PAGE, "dtype"),
                                                          bind=BIND)

seed = int(st.session_state.get("seed", 0))
with st.expander("Input", expanded=not classroom.presenting()):
    c = st.columns([1, 1, 3])
    # options are the labels themselves (no format_func): the link then holds what the control shows
    source = SOURCES[c[0].radio("Input", tuple(SOURCES), key=key(PAGE, "src"), bind=BIND,
                                help="A sentence is split into words and punctuation; each token looks up a "
                                     "seeded nn.Embedding row (the same word always gets the same vector).")]
    cross = c[1].radio("Attention", ("self-attention", "cross-attention"), key=key(PAGE, "mode"), bind=BIND,
                       help="Self: queries, keys and values come from one sequence. Cross: queries from the "
                            "decoder's sequence, keys and values from the encoder's.") == "cross-attention"
    with c[2]:
        text, source_text, positional = examples.SENTENCES[0], examples.PAIRS[0][0], True
        batch, tgt_len, src_len = 1, 6, 6
        if source == "sentence":
            if cross:
                source_text = st.text_input("Encoder sentence (keys and values)", examples.PAIRS[0][0],
                                            max_chars=400, key=key(PAGE, "enc"), bind=BIND)
                text = st.text_input("Decoder sentence (queries)", examples.PAIRS[0][1], max_chars=400,
                                     key=key(PAGE, "dec"), bind=BIND)
            else:
                text = st.text_input("Sentence", examples.SENTENCES[0], max_chars=400, key=key(PAGE, "text"),
                                     bind=BIND, help="Try: " + " / ".join(examples.SENTENCES[1:]))
            cc = st.columns(2)
            positional = cc[0].toggle("positional encoding", True, key=key(PAGE, "pe"), bind=BIND,
                                      help="Add sin/cos position patterns; without them attention cannot tell "
                                           "word order apart.")
            pads = cc[1].slider("pad tokens after the keys", 0, 6, 0, key=key(PAGE, "pads"), bind=BIND,
                                help="<pad> tokens, as when a batch is padded to a longer sentence.")
        else:
            cc = st.columns(4)
            batch = cc[0].slider("batch", 1, ac.MAX_BATCH, 1, key=key(PAGE, "B"), bind=BIND)
            tgt_len = cc[1].slider("queries L", 1, 32, 6, key=key(PAGE, "L"), bind=BIND)
            if cross:
                src_len = cc[2].slider("keys S", 1, 32, 8, key=key(PAGE, "S"), bind=BIND)
            keys = src_len if cross else tgt_len
            clamp(key(PAGE, "pads"), 0, max(0, keys - 1))
            pads = cc[3].slider("pad keys at the end", 0, max(1, keys - 1), 0, key=key(PAGE, "pads"), bind=BIND,
                                disabled=keys == 1, help="The last keys count as padding.")
            st.caption(f"Standard normal values from seed {seed} + 1 (change the seed in the sidebar).")
        kdim = vdim = None
        if cross:
            cc = st.columns(2)
            k_pick = cc[0].selectbox("kdim", SIZES, key=key(PAGE, "kdim"), bind=BIND,
                                     help="Size of each key vector: the encoder may be wider or narrower.")
            v_pick = cc[1].selectbox("vdim", SIZES, key=key(PAGE, "vdim"), bind=BIND, help="Size of each value vector.")
            kdim = None if k_pick == SAME else int(k_pick)
            vdim = None if v_pick == SAME else int(v_pick)

with st.expander("Masks", expanded=not classroom.presenting()):
    c = st.columns([1, 1, 2])
    causal = c[0].toggle("causal mask", False, key=key(PAGE, "causal"), bind=BIND,
                         help="Query i may look at keys 0..i only: no peeking at later words.")
    key_padding = c[1].toggle("key padding mask", True, key=key(PAGE, "kpm"), bind=BIND, disabled=int(pads) == 0,
                              help="Hide the pad keys (key_padding_mask). Add pad tokens under Input to try it.")
    cells_text = c[2].text_input("Masked cells (query-key)", "", max_chars=1500, key=key(PAGE, "cells"), bind=BIND,
                                 placeholder="click cells of the weights heatmap, or type 0-1, 3-2",
                                 help="A custom attn_mask: True (masked) at each (query, key) cell.")
    if cells_text:
        c[2].button("Clear masked cells", key=key(PAGE, "clear"),
                    on_click=lambda: st.session_state.update({key(PAGE, "cells"): ""}))

cfg = ac.LayerConfig(kind=kind, embed_dim=embed_dim, num_heads=heads, bias=bool(bias), kdim=kdim, vdim=vdim,
                     batch_first=bool(batch_first), hidden_dim=hidden_dim, dtype=dtype)
icfg = ac.InputConfig(source=source, cross=cross, text=text, source_text=source_text, positional=bool(positional),
                      pads=int(pads), batch=int(batch), tgt_len=int(tgt_len), src_len=int(src_len))


# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def run(cfg, icfg, mcfg, seed):
    """Layer, inputs and trace for one setting; cached so choosing what to show costs nothing."""
    return ac.run(cfg, icfg, mcfg, seed)


@st.cache_data(max_entries=64, show_spinner=False)
def snippet(cfg, icfg, mcfg, seed, average):
    return ac.snippet(cfg, icfg, mcfg, seed, average)


with panels.explorer_errors():
    L, S = ac.sizes(cfg, icfg)
    cells = ac.parse_cells(cells_text)
    kept = tuple(cell for cell in cells if cell[0] < L and cell[1] < S)
    mcfg = ac.MaskConfig(causal=bool(causal), key_padding=bool(key_padding), blocked=kept)
    trace, inputs = run(cfg, icfg, mcfg, seed)
if len(kept) < len(cells):
    st.caption(f"{len(cells) - len(kept)} masked cell(s) lie outside the {L}×{S} grid of this input and are ignored.")
qlab, klab = inputs.query_tokens, inputs.key_tokens


# Figures are cached as objects (st.cache_resource) and only ever read: a pickled copy per rerun, as
# st.cache_data makes, costs plotly a full re-validation of every figure, several times the rerun goal.
@st.cache_resource(max_entries=64, show_spinner=False)
def row_figures(setup, b, head, query, blocked):
    """The heatmap, lines view and renormalized row: they follow the head and the query."""
    t, inp = run(*setup)
    q, k = inp.query_tokens, inp.key_tokens
    return (figures.weights_heatmap(t, b, head, q, k, selected=query, clickable=True, blocked=blocked),
            figures.lines_view(t, b, head, q, k, selected=query),
            figures.renormalized_row(t, b, head, query, key_tokens=k, query_tokens=q))


@st.cache_resource(max_entries=64, show_spinner=False)
def head_figures(setup, b, head, presenting):
    """Scores vs weights, the head's matrices and the scale player: they follow the head."""
    t, inp = run(*setup)
    q, k = inp.query_tokens, inp.key_tokens
    return (figures.scores_vs_weights(t, b, head, q, k, decimals=1 if presenting else 2),
            figures.pipeline_matrices(t, b, head, q, k),
            figures.entropy_vs_scale(t, b, head, q, k))


@st.cache_resource(max_entries=32, show_spinner=False)
def layer_figures(setup, b, average):
    """The heads grid, the formula pipeline and the input vectors: one per setting."""
    t, inp = run(*setup)
    grid = figures.heads_grid(t, b, inp.query_tokens, inp.key_tokens, show_mean=average) if t.num_heads > 1 else None
    if inp.embedded is None:
        vectors = figures.input_vectors(inp.query[b], None, inp.query_tokens,
                                        title=f"The input x: queries of batch item {b}, standard normal")
    else:
        vectors = figures.input_vectors(inp.embedded, inp.positions, inp.query_tokens)
    return grid, figures.pipeline(t), vectors


setup = (cfg, icfg, mcfg, seed)

# -- what to show -----------------------------------------------------------------------------------
c = st.columns(3)
clamp(key(PAGE, "b"), 0, trace.batch - 1)
b = int(c[0].number_input("Batch item", 0, trace.batch - 1, 0, key=key(PAGE, "b"), bind=BIND,
                          disabled=trace.batch == 1, help="Which sequence of the batch to draw."))
clamp(key(PAGE, "head"), 0, trace.num_heads - 1)
head = int(c[1].selectbox("Head", range(trace.num_heads), key=key(PAGE, "head"), bind=BIND,
                          disabled=trace.num_heads == 1, help="Each head has its own slice of the projections."))
# Labels as options (no format_func), so the link holds exactly what the list shows.
q_options = [f"{i}: {tok}" for i, tok in enumerate(qlab)]
keep_option(key(PAGE, "q"), q_options)
query = q_options.index(c[2].selectbox("Query token", q_options, key=key(PAGE, "q"), bind=BIND,
                                       help="The row the math panel works through."))


def toggle_cell(point):
    """A click on a heatmap cell masks it, a second click unmasks it."""
    data = point.get("customdata")
    if not isinstance(data, (list, tuple)) or len(data) < 2:
        return  # not a cell (the click landed on another trace)
    try:
        cells_now = ac.parse_cells(st.session_state.get(key(PAGE, "cells"), ""))
    except ExplorerError:
        return  # the page shows what is wrong with the typed cells
    st.session_state[key(PAGE, "cells")] = ac.format_cells(ac.toggle_cell(cells_now, data[0], data[1]))


st.subheader("Who attends to whom")
st.caption("Rows are queries, columns keys; each row sums to 1. **Click a cell** to mask it (click again to "
           "unmask); red outlines mark cells you masked. The lines view steps through the queries in your browser.")
heat_fig, lines_fig, renorm_fig = row_figures(setup, b, head, query, kept)
masked_fig, matrices_fig, scale_fig = head_figures(setup, b, head, classroom.presenting())
grid_fig, pipeline_fig, input_fig = layer_figures(setup, b, average)
# side by side at a desk; one above the other on a projector, where type is larger and cells must be too
c1, c2 = (st.container(), st.container()) if classroom.presenting() else st.columns([1.1, 1])
with c1:
    panels.chart(heat_fig, key="attention-heatmap", on_click=toggle_cell)
with c2:
    panels.chart(lines_fig, key="attention-lines")

if trace.num_heads > 1:
    st.subheader("Every head")
    st.caption("The layer returns " + ("their **mean** (last panel, average_attn_weights=True)" if average else
                                       "**one map per head** (average_attn_weights=False)") + " as its weights.")
    panels.chart(grid_fig, key="attention-heads")

st.subheader("Masking: −∞ before the softmax, exactly 0 after")
panels.chart(masked_fig, key="attention-masked")
panels.chart(renorm_fig, key="attention-renorm")
# Always one caption here, whatever the mask: an element that comes and goes would shift every chart
# below it, and the browser would draw them all again.
blocked = trace.blocked_cells(b, head)
st.caption("No mask is on: try the causal mask, pad tokens, or click a cell of the heatmap above." if not blocked
           else f"The mask blocks {blocked} of the {L * S} query-key cells of head {head}: their scores are −∞, "
                "their weights exactly 0, and each row's other weights grow to sum to 1 again.")

st.subheader("Step by step")
if inputs.positions is not None:
    st.caption("Positional encoding: PE[p, 2i] = sin(p / 10000^(2i/E)) and PE[p, 2i+1] = cos(p / 10000^(2i/E)). "
               "Low dimensions change fast with the position p, high ones slowly, so each position gets its own "
               "pattern and the same word at two places gets two different vectors.")
c1, c2 = st.columns([1, 1.2])
with c1:
    panels.chart(input_fig, key="attention-input")
with c2:
    panels.chart(pipeline_fig, key="attention-pipeline")
panels.chart(matrices_fig, key="attention-matrices")

if kind == "multihead":
    st.subheader("Why divide by √d")
    st.caption(f"The slider multiplies the layer's scale 1/√{trace.head_dim}: ×1 is what the layer does, "
               f"×√{trace.head_dim} = {math.sqrt(trace.head_dim):.3g} is no scaling at all. Dot products of "
               "d-dimensional vectors grow like √d, so unscaled scores push the softmax towards one key per row "
               "(entropy 0), where its gradient vanishes and learning stalls.")
else:
    st.subheader("Sharper or flatter: scaling the scores")
    st.caption("Additive attention has no 1/√d: its scores vᵀ tanh(…) are bounded by the size of v. The slider "
               "multiplies them anyway, to show how the softmax flattens (×small) or picks one key (×large).")
panels.chart(scale_fig, key="attention-scale")


# -- math panel -------------------------------------------------------------------------------------
st.subheader(f"The math of query {query} “{qlab[query]}”" + (f", head {head}" if trace.num_heads > 1 else ""))
row = trace.query_row(b, head, query)
allowed = [j for j in range(trace.src_len) if row.mask[j] != float("-inf")]
k_options = [f"{j}: {tok}" for j, tok in enumerate(klab)]
keep_option(key(PAGE, "k"), k_options)
c1, c2 = st.columns([1, 2])
kj = k_options.index(c1.selectbox("Key to predict", k_options, index=allowed[0] if allowed else 0,
                                  key=key(PAGE, "k"), bind=BIND))
with c2:
    revealed = classroom.predict(f"{PAGE}.predict", f"the weight of “{qlab[query]}” on “{klab[kj]}”",
                                 float(row.weights[kj]))
score_name = "vᵀ tanh(W_q q + W_k k)" if kind == "additive" else "q · k"


def _number(v):
    """A table cell: −∞ for a blocked key, else the number to 6 significant digits."""
    return "−∞" if v == float("-inf") else f"{v:.6g}"


table = pd.DataFrame({
    "key": [f"{j}: {klab[j]}" for j in range(trace.src_len)],
    score_name: row.raw.double().tolist(),
    "× scale": row.scaled.double().tolist(),
    "mask": [_number(v) for v in row.mask.tolist()],
    "score": [_number(v) for v in row.scores.tolist()],
    "exp(score − max)": row.exp.double().tolist() if revealed else None,
    "weight": row.weights.double().tolist() if revealed else None,
})
if kind == "additive":
    table = table.drop(columns="× scale")  # additive scores are not scaled
st.dataframe(table, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(table)))
if not revealed:
    st.caption("exp and the weights are hidden until you check your prediction.")
else:
    for line in ac.worked_lines(trace, b, head, query, kj, qlab, klab):
        st.markdown(line)

panels.check_badge(trace)
werr = trace.weights_error
tol = 1e-5 if trace.output.dtype.itemsize == 4 else 1e-12
(st.success if werr <= tol else st.error)(
    f"{'✓' if werr <= tol else '✗'} Our weights{' averaged over heads' if kind == 'multihead' else ''} match "
    f"the weights the module returns (largest difference {werr:.1e}).")

# -- shapes, code, export -----------------------------------------------------------------------------
c1, c2 = st.columns(2)
with c1:
    st.subheader("Shapes and parameters")
    panels.shapes_panel(ac.shape_rows(trace, inputs, average))
with c2:
    st.subheader("Reproduce it in PyTorch")
    panels.code_box(snippet(cfg, icfg, mcfg, seed, average), "attention.py")


def _frame(t, index, columns):
    return pd.DataFrame(t.detach().double().numpy(), index=index, columns=columns)


out_b = trace.output[b] if trace.batch_first else trace.output[:, b]
panels.csv_download({
    "settings": pd.DataFrame(ac.settings_rows(cfg, icfg, mcfg, seed),
                             columns=["setting", "value"]).set_index("setting"),
    "query input (batch-first)": _frame(inputs.query[b], qlab, [f"dim {i}" for i in range(inputs.query.shape[-1])]),
    f"head {head} scores (masked = -inf)": _frame(trace.scores[b, head], qlab, klab),
    f"head {head} weights": _frame(trace.weights[b, head], qlab, klab),
    "weights returned by the module" + ("" if average else f", head {head}"):
        _frame(trace.module_weights[b] if average else trace.module_head_weights[b, head], qlab, klab),
    "output": _frame(out_b, qlab, None),
    f"query {query} row": table,
}, "attention.csv")


@st.cache_resource(show_spinner=False)
def mistakes():
    """The seed notes' mistakes with torch's numbers: fixed examples, built once, only read."""
    return examples.mistakes()


st.subheader("Common mistakes")
for mistake in mistakes():
    panels.mistake_callout(mistake, lambda t: st.dataframe(
        pd.DataFrame(t.weights[0, 0].double().numpy()).round(4), width="content"))

panels.page_end(PAGE)
