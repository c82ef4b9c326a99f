"""Building blocks: Linear and Bilinear, Embedding, Dropout and the activation functions."""
import pandas as pd
import streamlit as st
import torch

from explorer import trace_activation, trace_dropout, trace_embedding, trace_linear
from explorer.activation_steps import worked
from explorer.basic import apply_temperature, dropout_expectation, temperature_sweep
from explorer.basic_config import (LINEAR_KINDS, ActivationConfig, DropoutConfig, EmbeddingConfig, LinearConfig,
                                   activation_snippet, build_activation, build_embedding, build_linear,
                                   dropout_snippet, embedding_snippet, linear_config_of, linear_snippet,
                                   parameter_count)
from explorer.examples import basic as ex
from explorer.figures import basic as figures
from ui import classroom, panels
from ui.state import BIND, clamp, keep_option, key

PAGE = "blocks"
TABS = ("Linear", "Embedding", "Dropout", "Activations")
DTYPES = ("float64", "float32")
# FIGURE_CACHE: figures are kept with st.cache_resource, not st.cache_data. cache_data would pickle each
# one and rebuild it on every rerun, and plotly re-validates every property while unpickling (about half
# a second for the dropout tab's three figures with their frames). No one mutates a figure after it is
# built: st.plotly_chart only reads it (to_dict copies), so sharing one object between sessions is safe.

panels.header("Building blocks", "The small layers every network is made of. A **Linear** layer computes one dot "
              "product per output, an **Embedding** looks rows up in a table, **Dropout** zeroes random values and "
              "scales up the rest, and an **activation** bends every value through a curve.")
classroom.tour(PAGE, [
    "**Linear**: press ▶ under the chart. The outlined row of W moves down; each output y_j is that row's dot "
    "product with the input x (the bars are the products x_i·W[j, i]), plus the bias b_j.",
    "Turn on **Predict before you look** in the math panel, pick an output j, multiply and add by hand, then "
    "check your number against the module's.",
    "**Embedding**: the sentence's `<pad>` tokens read row 0, which is all zeros, and its gradient bar stays at "
    "0. Turn on **max_norm**: rows longer than the limit are shrunk in the table itself.",
    "**Dropout**: kept values are multiplied by 1/(1 − p). Change the seed in the sidebar for a new mask, "
    "switch to eval (output = input), and press ▶ on the samples: their average closes in on x.",
    "**Activations**: pick Sigmoid or Tanh. The grey bands are where the slope is below 0.01: almost no "
    "gradient flows back there. Pick Softmax and move the temperature.",
])
seed = int(st.session_state.get("seed", 0))


def _table(t):
    """A tensor as a table to download: a vector as one column, a matrix as is, more dims one row per entry."""
    t = t.detach().double()
    if t.dim() <= 1:
        return pd.DataFrame({"value": t.reshape(-1).tolist()})
    if t.dim() == 2:
        return pd.DataFrame(t.numpy())
    idx = torch.cartesian_prod(*[torch.arange(s) for s in t.shape]).reshape(t.numel(), -1).tolist()
    return pd.DataFrame({"index": [str(tuple(i)) for i in idx], "value": t.flatten().tolist()})


def _fmt(v):
    return f"({v:.4g})" if v < 0 else f"{v:.4g}"


# == Linear and Bilinear ============================================================================

# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def linear_run(cfg, preset, x, x2, seed, dtype_name):
    """Module + trace for one setting; a preset brings its own layer and input."""
    dtype = getattr(torch, dtype_name)
    if preset is not None:
        module, inputs = ex.linear_preset(preset, dtype)
    else:
        module = build_linear(cfg, seed=seed, dtype=dtype)
        inputs = (torch.from_numpy(x).to(dtype),) + (() if x2 is None else (torch.from_numpy(x2).to(dtype),))
    return trace_linear(module, *inputs)


@st.cache_resource(max_entries=64, show_spinner=False)   # read-only: see FIGURE_CACHE
def linear_chart(setup, n):
    return figures.linear_stepper(linear_run(*setup), n)


@st.fragment
def linear_math(trace, n):
    st.subheader("The math of one output")
    out = trace.out_features
    clamp(key(PAGE, "lin.j"), 0, out - 1)
    j = int(st.slider("Output j", 0, out - 1, 0, key=key(PAGE, "lin.j"), bind=BIND)) if out > 1 else 0
    d = trace.dot(n, j)
    value = float(trace.output.reshape(trace.rows, -1)[n, j])
    where = f"y[{n}, {j}]" if trace.rows > 1 else f"y[{j}]"
    revealed = classroom.predict(key(PAGE, "lin.predict"), where, value)
    if trace.bilinear:
        rows = [{"i": t.index[0], "k": t.index[1], "x1_i": t.x, f"A[{j}, i, k]": t.w, "x2_k": t.x2,
                 "x1_i · A · x2_k": t.product if revealed else None} for t in d.terms]
    else:
        rows = [{"i": t.index[0], "x_i": t.x, f"W[{j}, i]": t.w, "x_i · W[j, i]": t.product if revealed else None}
                for t in d.terms]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(380, 38 + 35 * len(rows)))
    if revealed:
        shown = d.terms[:10]
        if trace.bilinear:
            terms = " + ".join(f"{_fmt(t.x)}·{_fmt(t.w)}·{_fmt(t.x2)}" for t in shown)
        else:
            terms = " + ".join(f"{_fmt(t.x)}·{_fmt(t.w)}" for t in shown)
        more = f" + … ({len(d.terms) - 10} more)" if len(d.terms) > 10 else ""
        bias = f" + b_{j} ({d.bias:.4g})" if trace.bias is not None else " (no bias)"
        st.markdown(f"**{where}** = {terms}{more}{bias} = **{d.total:.6g}**")
        st.markdown(f"The module computed **{value:.6g}**"
                    + (" (the same)." if value == d.total else f" (difference {abs(value - d.total):.1e}: rounding, "
                       "the module adds the products in another order)."))
    else:
        st.caption("The products and the sum are hidden until you check your prediction.")
    panels.csv_download(linear_tables(trace, where, rows), "building_blocks_linear.csv")


def linear_tables(trace, where, rows):
    tables = {"input x1" if trace.bilinear else "input x": _table(trace.x)}
    if trace.bilinear:
        tables["input x2"] = _table(trace.x2)
    tables["weight"] = _table(trace.weight)
    if trace.bias is not None:
        tables["bias"] = _table(trace.bias)
    tables["output"] = _table(trace.output)
    tables[f"products of {where}"] = pd.DataFrame(rows)
    return tables


def linear_section():
    with st.expander("Layer and input", expanded=not classroom.presenting()):
        c = st.columns([1, 1.3, 1, 1, 1, 1])
        source = c[0].radio("Source", ("preset", "random", "typed"), key=key(PAGE, "lin.src"), bind=BIND,
                            help="A small hand-made layer and input, a seeded random layer and input, or a seeded "
                                 "layer with the input you type.")
        dtype_name = c[5].selectbox("dtype", DTYPES, key=key(PAGE, "lin.dtype"), bind=BIND)
        preset = x = x2 = cfg = None
        if source == "preset":
            preset = c[1].selectbox("Preset", ex.LINEAR_PRESETS, key=key(PAGE, "lin.preset"), bind=BIND)
        else:
            kind = c[1].selectbox("Layer", LINEAR_KINDS, key=key(PAGE, "lin.kind"), bind=BIND)
            bilinear = kind == "Bilinear"
            fin = c[2].number_input("in1_features" if bilinear else "in_features", 1, 64 if not bilinear else 16, 4,
                                    key=key(PAGE, "lin.in"), bind=BIND)
            fin2 = c[3].number_input("in2_features", 1, 16, 3, key=key(PAGE, "lin.in2"), bind=BIND) \
                if bilinear else 3
            fout = c[4].number_input("out_features", 1, 64, 3, key=key(PAGE, "lin.out"), bind=BIND)
            bias = c[5].toggle("bias", True, key=key(PAGE, "lin.bias"), bind=BIND)
            cfg = LinearConfig(kind, int(fin), int(fin2), int(fout), bool(bias))
            with panels.explorer_errors():
                if source == "random":
                    n_rows = st.slider("Input rows (a batch of input vectors)", 1, 8, 1, key=key(PAGE, "lin.rows"),
                                       bind=BIND)
                    lead = (n_rows,) if n_rows > 1 else ()
                    x = ex.random_values(lead + (cfg.in_features,), seed + 1).numpy()
                    x2 = ex.random_values(lead + (cfg.in2_features,), seed + 2).numpy() if bilinear else None
                    st.caption(f"Weights uniform in ±1/√in_features (PyTorch's range) and standard normal inputs, "
                               f"seed {seed} (change it in the sidebar).")
                else:
                    x = ex.parse_values(st.text_area("Input x1" if bilinear else "Input x: one row per input "
                                                     "vector, numbers split by commas", "1, 2, 3, 4",
                                                     key=key(PAGE, "lin.typed"), height=90, bind=BIND)).numpy()
                    if bilinear:
                        x2 = ex.parse_values(st.text_area("Input x2", "1, 0, -1", key=key(PAGE, "lin.typed2"),
                                                          height=90, bind=BIND), name="x2").numpy()
                    st.caption(f"The weights are seeded (seed {seed}); the input is yours.")
    with panels.explorer_errors():
        setup = (cfg, preset, x, x2, seed, dtype_name)
        trace = linear_run(*setup)
    if cfg is None:
        cfg = linear_config_of(trace.module)

    n = 0
    if trace.rows > 1:
        clamp(key(PAGE, "lin.n"), 0, trace.rows - 1)
        n = int(st.columns(4)[0].number_input("Input row n to follow", 0, trace.rows - 1, 0, key=key(PAGE, "lin.n"),
                                              bind=BIND))
    st.subheader("Every output is a dot product: one row of the weights times the input"
                 if not trace.bilinear else "Every output is x1ᵀ A_j x2: a weighted sum over all pairs (i, k)")
    st.caption("Press ▶ or drag the slider to move to the next output j: stepping runs in your browser."
               + (" Large layers show evenly spaced rows and columns (the title says how many)."
                  if max(trace.weight.shape) > figures.MAX_SIDE else ""))
    panels.chart(linear_chart(setup, n), key="blocks-linear")

    linear_math(trace, n)
    panels.check_badge(trace, what="dot products")
    c1, c2 = st.columns([1, 1.4])
    with c1:
        st.subheader("Shapes and parameters")
        total, how = parameter_count(trace.module)
        rows = [("input x1" if trace.bilinear else "input x", str(tuple(trace.x.shape)))]
        if trace.bilinear:
            rows.append(("input x2", str(tuple(trace.x2.shape))))
        rows += [("weight", f"{tuple(trace.weight.shape)}  " + ("(out, in1, in2)" if trace.bilinear else
                                                               "(out_features, in_features)")),
                 ("bias", str(tuple(trace.bias.shape)) if trace.bias is not None else "none"),
                 ("output", str(tuple(trace.output.shape))), ("parameters", how)]
        panels.shapes_panel(rows)
    with c2:
        st.subheader("Reproduce it in PyTorch")
        panels.code_box(linear_snippet(cfg, trace), "building_blocks_linear.py")


# == Embedding =====================================================================================

# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def embedding_run(cfg, ids, seed, dtype_name):
    """A fresh seeded table per setting, so max_norm's in-place rescaling never touches a cached one."""
    module = build_embedding(cfg, seed=seed, dtype=getattr(torch, dtype_name))
    return trace_embedding(module, torch.from_numpy(ids))


@st.cache_resource(max_entries=64, show_spinner=False)   # read-only: see FIGURE_CACHE
def embedding_charts(setup):
    t = embedding_run(*setup)
    labels = ex.VOCAB
    return (figures.embedding_figure(t, labels=labels), figures.gradient_figure(t, labels=labels),
            figures.renorm_figure(t, labels=labels) if t.max_norm is not None else None)


def embedding_section():
    with st.expander("Table and tokens", expanded=not classroom.presenting()):
        c = st.columns(5)
        vocab = int(c[0].number_input("num_embeddings", 2, 1000, len(ex.VOCAB), key=key(PAGE, "emb.V"), bind=BIND,
                                      help="Rows of the table: how many different tokens it knows."))
        dim = int(c[1].number_input("embedding_dim", 1, 64, 4, key=key(PAGE, "emb.D"), bind=BIND))
        pad_on = c[2].toggle("padding_idx", True, key=key(PAGE, "emb.pad"), bind=BIND,
                             help="A row that starts at zeros and never gets a gradient.")
        clamp(key(PAGE, "emb.padidx"), 0, vocab - 1)
        pad = int(c[2].number_input("padding row", 0, vocab - 1, ex.PAD_ID, key=key(PAGE, "emb.padidx"),
                                    bind=BIND, disabled=not pad_on))
        norm_on = c[3].toggle("max_norm", False, key=key(PAGE, "emb.maxnorm"), bind=BIND,
                              help="Rows looked up whose norm exceeds this are rescaled to it, in the table itself.")
        max_norm = c[3].number_input("max_norm value", 0.1, 10.0, 1.0, step=0.1, key=key(PAGE, "emb.mn"),
                                     bind=BIND, disabled=not norm_on)
        norm_type = c[4].selectbox("norm_type (p of the p-norm)", (2.0, 1.0, 3.0), key=key(PAGE, "emb.p"),
                                   bind=BIND, disabled=not norm_on)
        dtype_name = c[4].selectbox("dtype", DTYPES, key=key(PAGE, "emb.dtype"), bind=BIND)
        text = st.text_input("Tokens: ids or words, split by spaces or commas", ex.SENTENCE, max_chars=2000,
                             key=key(PAGE, "emb.ids"), bind=BIND)
        st.caption("Words: " + ", ".join(f"{w} = {i}" for i, w in enumerate(ex.VOCAB))
                   + f". Rows are N(0, 1) from seed {seed}, rounded to 2 decimals.")
    cfg = EmbeddingConfig(vocab, dim, pad if pad_on else None, float(max_norm) if norm_on else None, float(norm_type))
    with panels.explorer_errors():
        ids = ex.parse_ids(text, vocab, vocab=ex.VOCAB).numpy()
        setup = (cfg, ids, seed, dtype_name)
        trace = embedding_run(*setup)
    table_fig, grad_fig, renorm_fig = embedding_charts(setup)

    st.subheader("An embedding is a table: each token reads its own row")
    if vocab > figures.MAX_SIDE:
        st.caption(f"The table has {vocab} rows: the looked-up ones, the padding row and evenly spaced others "
                   "are drawn.")
    panels.chart(table_fig, key="blocks-embedding")
    c1, c2 = st.columns(2)
    with c1:
        panels.chart(grad_fig, key="blocks-embedding-grad")
        st.caption("Training moves only the rows that were looked up, each by as much as it was used, and "
                   "never the padding row: it gets no gradient, so it stays zeros.")
    with c2:
        if renorm_fig is not None:
            panels.chart(renorm_fig, key="blocks-embedding-renorm")
            st.info("nn.Embedding's forward with max_norm rescales those rows of its own **weight, in place**: "
                    "the table is changed by the lookup. The trace keeps torch's behaviour (it runs the real "
                    "forward once) and records the rows before and after; the snippet below starts from the "
                    "table as it was before.", icon=":material/info:")
        else:
            st.markdown("**padding_idx**: " + (f"row {cfg.padding_idx} is zeros, so every padding token's output "
                                                "is zeros too." if cfg.padding_idx is not None else
                                                "off: every row is an ordinary row."))
            st.caption("Turn on max_norm to see long rows rescaled.")

    st.subheader("The math of one token")
    tokens = trace.indices.reshape(-1).tolist()
    clamp(key(PAGE, "emb.t"), 0, len(tokens) - 1)
    t = int(st.slider("Token position", 0, len(tokens) - 1, 0, key=key(PAGE, "emb.t"), bind=BIND)) \
        if len(tokens) > 1 else 0
    tok = tokens[t]
    word = f" (“{ex.VOCAB[tok]}”)" if tok < len(ex.VOCAB) else ""
    row = trace.table_before[tok].tolist()
    out = trace.output.reshape(len(tokens), -1)[t].tolist()
    shown = ", ".join(f"{v:.4g}" for v in row[:12]) + (", …" if len(row) > 12 else "")
    st.markdown(f"Token {t} is id **{tok}**{word}: the output is row {tok} of the table, "
                f"W[{tok}] = [{shown}].")
    if tok == cfg.padding_idx:
        st.markdown(f"Id {tok} is the padding row: all zeros, and it stays so because it gets no gradient.")
    if trace.max_norm is not None:
        k = trace.looked_up.tolist().index(tok)
        norm, scale = float(trace.norms_before[k]), float(trace.scale[k])
        if trace.renormalized[k]:
            st.markdown(f"Its {trace.norm_type:g}-norm is **{norm:.4g}** > max_norm {trace.max_norm:g}, so the row "
                        f"is multiplied by max_norm / (norm + 1e-7) = {trace.max_norm:g} / {norm:.6g} = "
                        f"**{scale:.6g}** before it is read; its norm becomes {float(trace.norms_after[k]):.6g}.")
        else:
            st.markdown(f"Its {trace.norm_type:g}-norm is {norm:.4g} ≤ max_norm {trace.max_norm:g}: left as it is.")
        st.dataframe(pd.DataFrame({
            "id": trace.looked_up.tolist(),
            "token": [ex.VOCAB[v] if v < len(ex.VOCAB) else "" for v in trace.looked_up.tolist()],
            "norm before": trace.norms_before.tolist(), "scale": trace.scale.tolist(),
            "norm after": trace.norms_after.tolist()}), hide_index=True, width="stretch")
    st.markdown("Output = [" + ", ".join(f"{v:.4g}" for v in out[:12]) + (", …" if len(out) > 12 else "") + "]")
    panels.check_badge(trace, what="row-by-row lookup" + (" with our own rescaling" if trace.max_norm else ""))
    if trace.max_norm is not None:
        st.caption(f"Our rescaled rows vs the module's table after its forward: largest difference "
                   f"{trace.renorm_error:.1e}.")

    c1, c2 = st.columns([1, 1.4])
    with c1:
        st.subheader("Shapes and parameters")
        panels.shapes_panel([("token ids", str(tuple(trace.indices.shape))),
                             ("table (weight)", f"{tuple(trace.table.shape)}  (num_embeddings, embedding_dim)"),
                             ("output", f"{tuple(trace.output.shape)}  (*ids, embedding_dim)"),
                             ("distinct ids looked up", str(len(trace.looked_up))),
                             ("parameters", parameter_count(trace.module)[1])])
    with c2:
        st.subheader("Reproduce it in PyTorch")
        panels.code_box(embedding_snippet(cfg, trace), "building_blocks_embedding.py")
    tables = {"token ids": _table(trace.indices.double()), "table before the lookup": _table(trace.table_before),
              "output": _table(trace.output.reshape(len(tokens), -1))}
    if trace.max_norm is not None:
        tables["table after the lookup"] = _table(trace.table)
    panels.csv_download(tables, "building_blocks_embedding.csv")


# == Dropout =======================================================================================

# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def dropout_run(cfg, x, seed, samples):
    module = ex.dropout_layer(cfg.p, training=cfg.training)
    x = torch.from_numpy(x)
    trace = trace_dropout(module, x, seed=seed)
    mean = dropout_expectation(module, x, samples=samples, seed=seed) if cfg.p < 1 else None
    return trace, mean


@st.cache_resource(max_entries=64, show_spinner=False)   # read-only: see FIGURE_CACHE
def dropout_charts(setup):
    trace, mean = dropout_run(*setup)
    return (figures.dropout_figure(trace), None if mean is None else figures.dropout_samples_figure(mean),
            None if mean is None else figures.dropout_mean_figure(mean))


@st.cache_resource(show_spinner=False)
def notes_examples():
    """The notes' dropout example, fixed: built once per server, read-only."""
    return ex.correct_examples()


def use_notes_seed():
    st.session_state["seed"] = ex.NOTES_DROPOUT_SEED


def dropout_section():
    with st.expander("Dropout and input", expanded=not classroom.presenting()):
        c = st.columns(5)
        p = c[0].slider("p: chance of dropping each value", 0.0, 1.0, ex.NOTES_DROPOUT_P, step=0.05,
                        key=key(PAGE, "drop.p"), bind=BIND)
        mode = c[1].radio("Mode", ("train", "eval"), key=key(PAGE, "drop.mode"), bind=BIND,
                          help="module.train() drops and rescales; module.eval() returns the input unchanged.")
        samples = c[2].slider("Samples to average", 10, 2000, 500, step=10, key=key(PAGE, "drop.samples"),
                              bind=BIND, help="How many masks the running mean below draws.")
        dtype_name = c[3].selectbox("dtype", DTYPES, key=key(PAGE, "drop.dtype"), bind=BIND)
        source = c[4].radio("Input", ("notes [1..5]", "random", "typed"), key=key(PAGE, "drop.src"), bind=BIND)
        with panels.explorer_errors():
            if source == "random":
                cc = st.columns(2)
                r = cc[0].slider("rows", 1, 16, 4, key=key(PAGE, "drop.rows"), bind=BIND)
                w = cc[1].slider("columns", 1, 16, 8, key=key(PAGE, "drop.cols"), bind=BIND)
                x = ex.random_values((r, w) if r > 1 else (w,), seed + 1)
            elif source == "typed":
                x = ex.parse_values(st.text_area("Values: numbers split by commas, one row per line", "1, 2, 3, 4, 5",
                                                 key=key(PAGE, "drop.typed"), height=90, bind=BIND))
            else:
                x = torch.tensor(ex.NOTES_DROPOUT_INPUT)
        st.caption(f"The mask comes from torch.Generator().manual_seed({seed}) (the sidebar seed).")
    cfg = DropoutConfig(round(float(p), 2), mode == "train")
    with panels.explorer_errors():
        setup = (cfg, x.to(getattr(torch, dtype_name)).numpy(), seed, int(samples))
        trace, mean = dropout_run(*setup)
    mask_fig, samples_fig, mean_fig = dropout_charts(setup)

    st.subheader("Train mode: a random mask, and the kept values scaled by 1/(1 − p)" if cfg.training else
                 "Eval mode: dropout does nothing")
    panels.chart(mask_fig, key="blocks-dropout")
    st.subheader("Why scale by 1/(1 − p): on average the output equals the input")
    if mean is None:
        st.info("With p = 1 every value is dropped in train mode: every sample is 0 and 1/(1 − p) is undefined, "
                "so no average can approach x. Choose p below 1.", icon=":material/info:")
    else:
        st.caption(f"Each value is kept with probability {1 - cfg.p:.2g} and then multiplied by "
                   f"{1 / (1 - cfg.p):.4g}: its expected value is x (the eval-mode output). Press ▶: the bars, "
                   "the mean of the samples so far, settle on the dashes.")
        panels.chart(samples_fig, key="blocks-dropout-samples")
        panels.chart(mean_fig, key="blocks-dropout-mean")

    st.subheader("The math of one value")
    flat_x, flat_y = trace.x.reshape(-1).tolist(), trace.output.reshape(-1).tolist()
    flat_m = trace.mask.reshape(-1).tolist()
    clamp(key(PAGE, "drop.i"), 0, len(flat_x) - 1)
    i = int(st.slider("Entry (leading dims flattened)", 0, len(flat_x) - 1, 0, key=key(PAGE, "drop.i"),
                      bind=BIND)) if len(flat_x) > 1 else 0
    kept = "kept" if flat_m[i] else "dropped"
    st.markdown(f"x = **{flat_x[i]:.4g}**, mask = **{int(flat_m[i])}** ({kept})" if cfg.training else
                f"x = **{flat_x[i]:.4g}** (eval mode: no mask)")
    if classroom.predict(key(PAGE, "drop.predict"), f"the output at entry {i}", flat_y[i]):
        if not cfg.training:
            st.markdown(f"Eval mode: y = x = **{flat_y[i]:.6g}**")
        elif flat_m[i]:
            st.markdown(f"Kept: y = x / (1 − p) = {_fmt(flat_x[i])} / {1 - cfg.p:.4g} = **{flat_y[i]:.6g}**")
        else:
            st.markdown("Dropped: y = **0**")
    panels.check_badge(trace, what="mask-and-scale recomputation")

    c1, c2 = st.columns([1, 1.4])
    with c1:
        st.subheader("Shapes and parameters")
        panels.shapes_panel([("input", str(tuple(trace.x.shape))), ("mask", str(tuple(trace.mask.shape))),
                             ("output", str(tuple(trace.output.shape))),
                             ("kept", f"{trace.kept_fraction:.0%} of the values (about 1 − p = {1 - cfg.p:.0%} "
                                      "on average)" if cfg.training else "everything (eval mode)"),
                             ("scale", f"{trace.scale:.4g}"), ("parameters", "0: dropout has no weights")])
    with c2:
        st.subheader("Reproduce it in PyTorch")
        panels.code_box(dropout_snippet(cfg, trace), "building_blocks_dropout.py")
    tables = {"input": _table(trace.x), "mask (1 kept)": _table(trace.mask.double()), "output": _table(trace.output)}
    if mean is not None:
        tables[f"running mean after {mean.samples} samples"] = _table(mean.running_mean[-1])
        tables["largest gap |mean - x| per sample count"] = pd.DataFrame({"samples": range(1, mean.samples + 1),
                                                                          "gap": mean.gap.tolist()})
    panels.csv_download(tables, "building_blocks_dropout.csv")

    st.subheader("The notes' example, checked: it is right")
    cols = st.columns(2)
    for col, e in zip(cols, notes_examples()):
        with col.container(border=True):
            st.markdown(f"**{e.title}**")
            st.markdown(f"**The notes say:** {e.claim}")
            st.markdown(f"**Why:** {e.check}")
            st.markdown("**What PyTorch computes:** " + ", ".join(f"{v:g}" for v in e.trace.output.tolist()))
    with st.expander("The code behind both"):
        st.code(notes_examples()[0].code, language="python")
    if seed != ex.NOTES_DROPOUT_SEED:
        st.button(f"Use the notes' seed {ex.NOTES_DROPOUT_SEED} above", on_click=use_notes_seed,
                  key=key(PAGE, "drop.notes_seed"))


# == Activations ===================================================================================

# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def activation_run(cfg, x, swept):
    module = build_activation(cfg)
    x = torch.from_numpy(x)
    if cfg.name == "Softmax":
        return trace_activation(module, apply_temperature(x, cfg.temperature), swept=(swept,)), \
            temperature_sweep(module, x)
    return trace_activation(module, x), None


@st.cache_resource(max_entries=64, show_spinner=False)   # read-only: see FIGURE_CACHE
def activation_charts(setup):
    trace, sweep = activation_run(*setup)
    return figures.activation_figure(trace), None if sweep is None else figures.temperature_figure(
        sweep, setup[0].temperature)


@st.fragment
def activation_math(trace, cfg, x):
    st.subheader("The math at one input")
    clamp(key(PAGE, "act.i"), 0, trace.x.numel() - 1)
    i = int(st.slider("Entry i", 0, trace.x.numel() - 1, 0, key=key(PAGE, "act.i"), bind=BIND)) \
        if trace.x.numel() > 1 else 0
    w = worked(trace, i)
    value = float(trace.output[i])
    label = f"softmax(x / {cfg.temperature:g})[{i}]" if cfg.name == "Softmax" else f"{trace.name.split(' ')[0]}({w.x:.4g})"
    revealed = classroom.predict(key(PAGE, "act.predict"), label, value)
    if cfg.name == "Softmax" and cfg.temperature != 1:
        st.markdown(f"With temperature T = {cfg.temperature:g} the scores are x / T: x[{i}] = {float(x[i]):.4g} "
                    f"becomes {w.x:.4g}.")
    if revealed:
        st.markdown("  \n".join(f"`{s}`" for s in w.steps))
        slope = float(trace.derivative[i])
        flat = bool(trace.saturated[i])
        st.markdown(f"The module gives **{value:.6g}**. Slope there (autograd): **{slope:.4g}**"
                    + (f", below {trace.curve.slope:g}: saturated, almost no gradient flows back." if flat else "."))
    else:
        st.caption("The steps are hidden until you check your prediction.")
    rows = pd.DataFrame({"x / T" if cfg.name == "Softmax" else "x": trace.x.tolist(),
                         "f(x)": trace.output.tolist() if revealed else None,
                         "slope f'(x)": trace.derivative.tolist() if revealed else None,
                         "saturated": trace.saturated.tolist()})
    st.dataframe(rows, hide_index=True, width="stretch", height=min(460, 38 + 35 * len(rows)))


def activation_section():
    with st.expander("Activation and input", expanded=not classroom.presenting()):
        c = st.columns([1.2, 1, 1, 1.2, 1])
        name = c[0].selectbox("Activation", ex.ACTIVATIONS, key=key(PAGE, "act.name"), bind=BIND)
        settings = {}
        if name == "LeakyReLU":
            settings["negative_slope"] = c[1].number_input("negative_slope", -1.0, 1.0, 0.01, step=0.01,
                                                           key=key(PAGE, "act.slope"), bind=BIND)
        elif name == "ELU":
            settings["alpha"] = c[1].number_input("alpha", 0.0, 5.0, 1.0, step=0.1, key=key(PAGE, "act.alpha"),
                                                  bind=BIND)
        elif name == "Softplus":
            settings["beta"] = c[1].number_input("beta", 0.1, 10.0, 1.0, step=0.1, key=key(PAGE, "act.beta"),
                                                 bind=BIND)
            settings["threshold"] = c[2].number_input("threshold", 0.0, 50.0, 20.0, step=1.0,
                                                      key=key(PAGE, "act.threshold"), bind=BIND)
        elif name == "Softmax":
            settings["temperature"] = c[1].slider("temperature T", 0.05, 10.0, 1.0, step=0.05,
                                                  key=key(PAGE, "act.T"), bind=BIND,
                                                  help="softmax(x / T): below 1 sharper, above 1 flatter.")
        source = c[3].radio("Input", ("preset", "random", "typed"), key=key(PAGE, "act.src"), bind=BIND)
        dtype_name = c[4].selectbox("dtype", DTYPES, key=key(PAGE, "act.dtype"), bind=BIND)
        default = ex.SOFTMAX_INPUT if name == "Softmax" else ex.ACTIVATION_INPUT
        with panels.explorer_errors():
            if source == "random":
                cc = st.columns(2)
                n = cc[0].slider("How many values", 2, 200, 12, key=key(PAGE, "act.n"), bind=BIND)
                spread = cc[1].slider("Spread (standard deviation)", 0.5, 10.0, 3.0, step=0.5,
                                      key=key(PAGE, "act.spread"), bind=BIND)
                x = ex.random_values((n,), seed + 1, scale=spread)
                st.caption(f"Normal values, seed {seed} (change it in the sidebar).")
            elif source == "typed":
                x = ex.parse_values(st.text_input("Values, split by commas", default, key=key(PAGE, "act.typed"),
                                                  bind=BIND, max_chars=2000)).reshape(-1)
            else:
                x = ex.parse_values(default)
                st.caption(f"Preset input: {default}")
    cfg = ActivationConfig(name=name, **{k: float(v) for k, v in settings.items()})
    x = x.to(getattr(torch, dtype_name))
    swept = 0
    if name == "Softmax":
        keep_option(key(PAGE, "act.swept"), list(range(x.numel())))
        swept = int(st.selectbox("Entry the curve varies (the others held)", range(x.numel()),
                                 key=key(PAGE, "act.swept"), bind=BIND,
                                 format_func=lambda k: f"x[{k}] = {float(x[k]):.4g}"))
    with panels.explorer_errors():
        setup = (cfg, x.numpy(), swept)
        trace, sweep = activation_run(*setup)
    curve_fig, temp_fig = activation_charts(setup)

    st.subheader(f"{trace.name}: the curve, its slope, and your inputs on it")
    st.caption("Top: f(x); bottom: its slope f'(x) by autograd through the module. Dots are the input values "
               "(grey where saturated). Shaded bands: |f'(x)| < 0.01, where almost no gradient flows back."
               + (" Softmax is not pointwise: the curve varies one entry while the others stay put."
                  if name == "Softmax" else ""))
    panels.chart(curve_fig, key="blocks-activation")
    if temp_fig is not None:
        panels.chart(temp_fig, key="blocks-temperature")
    activation_math(trace, cfg, x)
    panels.check_badge(trace, what="formula written with exp, erf and arithmetic")

    c1, c2 = st.columns([1, 1.4])
    with c1:
        st.subheader("Shapes and parameters")
        panels.shapes_panel([("input", str(tuple(trace.x.shape))), ("output", str(tuple(trace.output.shape))),
                             ("formula", trace.formula), ("slope", trace.derivative_formula),
                             ("parameters", "0: its settings are fixed numbers, not learned weights")])
    with c2:
        st.subheader("Reproduce it in PyTorch")
        panels.code_box(activation_snippet(cfg, x), "building_blocks_activation.py")
    panels.csv_download({"inputs": pd.DataFrame({"x": x.tolist(), "f(x)": trace.output.tolist(),
                                                 "slope": trace.derivative.tolist(),
                                                 "saturated": trace.saturated.tolist()}),
                         "curve": pd.DataFrame({"x": trace.curve.x.tolist(), "f(x)": trace.curve.y.tolist(),
                                                "slope": trace.curve.dy.tolist()})},
                        "building_blocks_activation.csv")


# == the page =====================================================================================

tabs = st.tabs(TABS, key=key(PAGE, "tab"), bind=BIND)
for tab, section in zip(tabs, (linear_section, embedding_section, dropout_section, activation_section)):
    with tab:
        if tab.open:
            section()

panels.page_end(PAGE)
