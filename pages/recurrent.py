"""Recurrent layers: an RNN, LSTM or GRU reads a sequence one step at a time, its gates deciding
what to keep, what to write and what to show."""
import pandas as pd
import streamlit as st
import torch

from explorer import trace_recurrent, worker
from explorer.examples import recurrent as examples
from explorer.figures import recurrent as figures
from explorer.recurrent import GATE_SYMBOLS
from explorer.recurrent_config import (MAX_HIDDEN, MAX_INPUT, MAX_LAYERS, RecurrentConfig, build, dropout_note,
                                       parameter_formula, parameter_rows, snippet, validate)
from explorer.recurrent_gradients import compare_gradient_flow
from explorer.recurrent_tables import export_tables, gate_latex, gate_sections, predictable, worked_value
from explorer.recurrent_training import continue_training, start_training
from ui import classroom, panels
from ui.inputs import csv_column_input
from ui.state import BIND, clamp, keep_option, key

PAGE = "rec"
ARTICLE = {"RNN": "an", "LSTM": "an", "GRU": "a"}
SOURCES = ("preset", "random", "typed", "CSV upload")
TRAIN_CHUNK = 50            # training steps between two moves of the progress bar

panels.header("Recurrent layers: RNN, LSTM, GRU", "A recurrent layer reads a sequence one step at a time and "
              "carries a **state** from step to step: h_t = f(x_t, h_(t−1)). An **LSTM** adds a cell state c_t "
              "and four gates (input, forget, cell, output) that decide what to write, keep and show; a **GRU** "
              "blends its old state with a candidate through two gates (reset, update).")
classroom.tour(PAGE, [
    "Press ▶ under the gate heatmaps: the orange column walks through time. Each row is one unit; yellow "
    "means a gate is open (near 1), dark purple closed (near 0).",
    "Choose the **step** preset (0 until t = 4, then 1): at t = 5 the gates change at once, and in the lines "
    "below the cell state moves to a new level and then holds it: that is the memory.",
    "Scroll to the **unrolled cell**: press ▶ and follow the numbers: c_t = f ⊙ c_(t−1) + i ⊙ g, then "
    "h_t = o ⊙ tanh(c_t). Hover a gate box to see its input part and hidden part.",
    "Switch **Layer** to GRU: the blend view shows h_t sliding between the candidate n_t and the old state, "
    "z_t of the way back towards the old one.",
    "In **Gradients**, set the weight scale to 0.5, then 2: the plain RNN's gradient vanishes, then explodes. "
    "Raise the forget/update bias to 3: the LSTM and GRU now carry it for many steps.",
    "Turn on **Predict before you look** in the math panel and work out a gate value from the two parts "
    "before checking it.",
])
seed = int(st.session_state.get("seed", 0))

# -- controls -------------------------------------------------------------------------------------
with st.expander("Layer", expanded=not classroom.presenting()):
    c = st.columns(4)
    kind = c[0].selectbox("Layer", ("RNN", "LSTM", "GRU"), index=1, key=key(PAGE, "kind"), bind=BIND)
    hidden = c[1].number_input("hidden_size", 1, MAX_HIDDEN, 4, key=key(PAGE, "hidden"), bind=BIND,
                               help="Units of the state h_t, and of every gate.")
    layers = c[2].number_input("num_layers", 1, MAX_LAYERS, 1, key=key(PAGE, "layers"), bind=BIND,
                               help="Stacked layers: layer k + 1 reads the outputs of layer k.")
    dtype_name = c[3].selectbox("dtype", ("float32", "float64"), key=key(PAGE, "dtype"), bind=BIND)
    c = st.columns(4)
    bidirectional = c[0].toggle("bidirectional", key=key(PAGE, "bidir"), bind=BIND,
                                help="A second layer reads the sequence from the last step to the first; "
                                     "the output puts both side by side.")
    batch_first = c[0].toggle("batch_first", key=key(PAGE, "bfirst"), bind=BIND,
                              help="Input laid out (batch, T, features) instead of (T, batch, features). Only the "
                                   "layout changes, never the numbers.")
    bias = c[0].toggle("bias", value=True, key=key(PAGE, "bias"), bind=BIND, help="The b_ih and b_hh vectors.")
    nonlinearity, proj = "tanh", 0
    if kind == "RNN":
        nonlinearity = c[1].selectbox("nonlinearity", ("tanh", "relu"), key=key(PAGE, "act"), bind=BIND)
    if kind == "LSTM":
        clamp(key(PAGE, "proj"), 0, int(hidden) - 1)
        proj = c[1].number_input("proj_size", 0, int(hidden) - 1, 0, key=key(PAGE, "proj"), bind=BIND,
                                 disabled=hidden == 1,
                                 help="h_t = W_hr (o ⊙ tanh(c_t)) with this many units (0: no projection); "
                                      "it must be smaller than hidden_size.")
    dropout = c[2].slider("dropout", 0.0, 0.9, 0.0, step=0.05, key=key(PAGE, "dropout"), bind=BIND,
                          help="Zeroes outputs between stacked layers, in training mode only.")
    initial = c[3].radio("Initial state h_0" + (", c_0" if kind == "LSTM" else ""), ("zeros", "random"),
                         key=key(PAGE, "h0"), bind=BIND, help="Zeros is what the layer uses when none is given.")

with st.expander("Input sequence", expanded=not classroom.presenting()):
    c1, c2, c3 = st.columns([1, 2, 1])
    source = c1.radio("Input", SOURCES, key=key(PAGE, "src"), bind=BIND,
                      help="Every choice is a real tensor fed to the layer, one row per time step.")
    onehot = False
    with panels.explorer_errors():
        with c2:
            if source == "preset":
                name = st.selectbox("Preset", examples.PRESETS, key=key(PAGE, "preset"), bind=BIND)
                if name == "sentence":
                    sentence = st.text_input("Sentence", examples.SENTENCE, key=key(PAGE, "sentence"), bind=BIND,
                                             max_chars=400)
                    encoding = st.radio("Words as", ("one-hot", "embedded"), horizontal=True,
                                        key=key(PAGE, "enc"), bind=BIND,
                                        help="One-hot: one feature per vocabulary word. Embedded: each word is a "
                                             "row of a seeded nn.Embedding, input_size numbers.")
                    onehot = encoding == "one-hot"
            elif source == "random":
                length = st.slider("Length T", 2, examples.MAX_STEPS, 24, key=key(PAGE, "len"), bind=BIND)
                st.caption(f"Standard normal values rounded to 2 decimals, seed {seed} (change it in the sidebar).")
            elif source == "typed":
                typed = st.text_area("Values: one time step per line (or one line of comma-separated values)",
                                     examples.format_series(examples.input_preset("counting 1..10").x[:, 0]),
                                     key=key(PAGE, "typed"), bind=BIND, height=150)
            else:
                column = csv_column_input(PAGE)
                if column is None:
                    st.info("Upload a CSV with a header row; until then the sine wave preset is used.")
        if onehot:
            vocabulary = examples.sentence_input(sentence).vocabulary
            c3.metric("input_size", len(vocabulary), help="One feature per word of the vocabulary.")
            features = len(vocabulary)
        else:
            features = c3.number_input("input_size", 1, MAX_INPUT, 1, key=key(PAGE, "features"), bind=BIND,
                                       help="Features per time step. A single series is spread over them as "
                                            "delayed copies: feature k is the value k steps back.")
        labels, x_code = None, None
        dtype = getattr(torch, dtype_name)
        if source == "preset" and name == "sentence":
            seq = examples.sentence_input(sentence, encoding, int(features), seed, dtype=dtype)
            labels = list(seq.labels)
            x = seq.x
        elif source == "preset":
            x = examples.input_preset(name, int(features), dtype=dtype).x
        elif source == "random":
            x = examples.random_input((int(length), int(features)), seed, dtype=dtype)
            x_code = examples.random_input_code((int(length), int(features)), seed, dtype, bool(batch_first))
        elif source == "typed":
            x = examples.fit_features(examples.parse_series(typed, dtype=dtype), int(features))
        elif column is None:
            x = examples.input_preset("sine wave", int(features), dtype=dtype).x
        else:
            x = examples.series_input(column, int(features), dtype=dtype)

cfg = RecurrentConfig(kind=kind, input_size=int(features), hidden_size=int(hidden), num_layers=int(layers),
                      bidirectional=bool(bidirectional), batch_first=bool(batch_first), bias=bool(bias),
                      nonlinearity=nonlinearity, proj_size=int(proj), dropout=float(dropout))
note = dropout_note(cfg)
if note:
    st.info(note, icon=":material/info:")


# Traces and figures are cached with cache_resource: the page only reads them (st.plotly_chart copies a
# figure before sending it), and cache_data would unpickle them on every rerun, which for a figure with
# frames means validating it all over again (tens of milliseconds each).
@st.cache_resource(max_entries=32, show_spinner=False)
def run(cfg, x, seed, dtype_name, initial):
    """Module + trace for one setting (arrays in, so Streamlit can hash them); read-only."""
    module = build(cfg, seed, getattr(torch, dtype_name))
    xb = examples.batch_of_one(torch.from_numpy(x), cfg.batch_first)
    hx = examples.random_state(module, 1, seed + 1) if initial == "random" else None
    return trace_recurrent(module, xb, hx)


with panels.explorer_errors():
    validate(cfg)
    setup = (cfg, x.numpy(), seed, dtype_name, initial)
    trace = run(*setup)

# -- what to show ---------------------------------------------------------------------------------
T, H = trace.seq_len, trace.hidden_size
c = st.columns([3, 1, 1, 2])
t = 0
if T > 1:
    clamp(key(PAGE, "t"), 0, T - 1)
    t = int(c[0].slider("Step t", 0, T - 1, min(3, T - 1), key=key(PAGE, "t"), bind=BIND,
                        help="The step of the math panel, and where the players below start."))
else:
    c[0].caption("The sequence has a single step, t = 0.")
layer, direction = 0, 0
if trace.num_layers > 1:
    clamp(key(PAGE, "layer"), 0, trace.num_layers - 1)
    layer = int(c[1].number_input("Layer to show", 0, trace.num_layers - 1, trace.num_layers - 1,
                                  key=key(PAGE, "layer"), bind=BIND))
if trace.num_directions == 2:
    direction = ("forward", "backward").index(c[2].radio("Direction", ("forward", "backward"),
                                                          key=key(PAGE, "dir"), bind=BIND))
units = list(range(H))
if H > figures.MAX_LINES:
    spread = figures.evenly_spaced(H, 4)
    remembered = st.session_state.get(key(PAGE, "units"))
    if remembered and any(u >= H for u in remembered):   # hidden_size shrank
        st.session_state[key(PAGE, "units")] = [u for u in remembered if u < H]
    units = c[3].multiselect("Units to follow", list(range(H)), default=spread, max_selections=figures.MAX_LINES,
                             key=key(PAGE, "units"), bind=BIND,
                             help="The lines, the cell diagram and the math panel show these units.") or spread
    units = sorted(units)


@st.cache_resource(max_entries=32, show_spinner=False)
def time_figures(setup, layer, direction, t, units, labels, vocabulary):
    tr = run(*setup)
    few = None
    if tr.hidden_size > figures.SMALL_VECTOR:     # the cell diagram prints at most 4 units
        few = [units[k] for k in figures.evenly_spaced(len(units), figures.SMALL_VECTOR)]
    return (figures.gate_heatmaps(tr, layer, direction, t=t, labels=labels, features=vocabulary if layer == 0 else None),
            figures.state_lines(tr, layer, direction, t=t, units=units, labels=labels),
            figures.cell_diagram(tr, layer, direction, t=t, units=few, labels=labels))


@st.cache_resource(max_entries=32, show_spinner=False)
def blend_figure(setup, layer, direction, t, unit, labels):
    return figures.gru_interpolation(run(*setup), layer, direction, unit=unit, t=t, labels=labels)


labels = tuple(labels) if labels else None
figs = time_figures(setup, layer, direction, t, tuple(units), labels, tuple(vocabulary) if onehot else None)
drawn = figures.drawn_note(trace)
st.subheader("Gates over time" if trace.gate_names else "The hidden state over time")
st.caption("Press ▶ or drag the slider under a chart: stepping runs in your browser. "
           + ("Sigmoid gates run from 0 (closed, dark) to 1 (open, yellow); tanh values from −1 (blue) to 1 (red)."
              if trace.gate_names else "A plain RNN has no gates: each row is one unit of h_t."))
if drawn:
    st.caption(drawn)
panels.chart(figs[0], key="rec-gates")
st.subheader("Hidden and cell state" if trace.cell is not None else "Hidden state")
panels.chart(figs[1], key="rec-states")
st.subheader(f"The {trace.kind} cell unrolled at one step")
st.caption("Each box is one quantity of the update at step t, with its numbers. "
           + ("Hover a gate for its input part and hidden part." if trace.gate_names else
              "Hover a box for all its numbers."))
panels.chart(figs[2], key="rec-cell")
if trace.kind == "GRU":
    st.subheader("GRU: the new state is a blend of the old state and a candidate")
    c1, c2 = st.columns([1, 3])
    keep_option(key(PAGE, "bunit"), units)
    blend_unit = c1.selectbox("Unit to follow", units, key=key(PAGE, "bunit"), bind=BIND)
    c2.latex(r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}")
    panels.chart(blend_figure(setup, layer, direction, t, int(blend_unit), labels), key="rec-blend")


# -- math panel -----------------------------------------------------------------------------------
def gate_name(name):
    return "hidden state h" if name == "hidden" else f"{name} gate {GATE_SYMBOLS[name]}"


@st.cache_data(max_entries=64, show_spinner=False)
def step_math(setup, layer, direction, t, units, gate, unit):
    """The math panel's numbers at step t: the worked value, the equations (with and without
    numbers) and the tables."""
    tr = run(*setup)
    return (worked_value(tr, layer, direction, t, gate, unit), gate_latex(tr, layer, direction, t, units),
            gate_latex(tr, layer, direction, t, units, numbers=False), gate_sections(tr, layer, direction, t, units))


@st.fragment
def math_panel():
    st.subheader(f"The math at step t = {t}" + (f" ({labels[t]!r})" if labels else ""))
    st.caption("Every number below is read from the real module's run; the tables under the equations hold "
               "the same numbers." + (f" Rows are units {', '.join(map(str, units))} of {H}." if H > len(units)
                                      else ""))
    names = predictable(trace)
    c1, c2, _ = st.columns([1, 1, 2])
    keep_option(key(PAGE, "pgate"), names)
    gate = c1.selectbox("Value to predict", names, key=key(PAGE, "pgate"), bind=BIND, format_func=gate_name)
    keep_option(key(PAGE, "punit"), units)
    unit = c2.selectbox("Unit", units, key=key(PAGE, "punit"), bind=BIND)
    (question, truth, worked), equations, symbols, tables = step_math(setup, layer, direction, t, tuple(units),
                                                                      gate, int(unit))
    revealed = classroom.predict(f"{PAGE}.predict", question, truth)
    if revealed:
        st.markdown(worked)
    else:
        st.caption("The numbers are hidden until you check your prediction.")
    for title, latex in equations if revealed else symbols:
        st.markdown(f"**{title}**")
        st.latex(latex)
    if revealed:
        with st.expander("The same numbers as tables"):
            for title, table in tables:
                st.markdown(f"**{title}**")
                st.dataframe(table.round(4), hide_index=True, width="stretch")


math_panel()
panels.check_badge(trace, what="gate-by-gate recomputation")
st.caption(f"The final states h_n{', c_n' if trace.c_n is not None else ''} agree too "
           f"(largest difference {trace.state_error:.1e}).")


# -- gradients ------------------------------------------------------------------------------------
@st.cache_resource(max_entries=32, show_spinner=False)
def gradient_figure(scale, keep_bias, steps, seed):
    flows = compare_gradient_flow(scale, keep_bias=keep_bias, steps=steps, seed=seed)
    return figures.gradient_flow_figure(flows), {k: f.decay_per_step for k, f in flows.items()}


st.subheader("Gradients through time: vanishing and exploding")
st.markdown("How much does the last state h_T depend on an earlier state h_t? Autograd through a real RNN, LSTM "
            "and GRU (16 units each, the same random input) gives ‖∂h_T/∂h_t‖. Each recurrent weight block is a "
            "random rotation times the **weight scale**.")
c1, c2, c3 = st.columns(3)
scale = c1.slider("Weight scale", 0.25, 3.0, 1.0, step=0.05, key=key(PAGE, "gscale"), bind=BIND,
                  help="Below 1 every step shrinks the state (the gradient vanishes), above 1 it stretches it.")
keep_bias = c2.slider("Forget / update gate bias", 0.0, 5.0, 0.0, step=0.5, key=key(PAGE, "gbias"), bind=BIND,
                      help="Added to the bias of the LSTM's forget gate and the GRU's update gate: σ(0) = 0.5 "
                           "halves what is kept at every step, σ(3) ≈ 0.95 keeps nearly all of it.")
steps = c3.slider("Sequence length", 10, 200, 60, step=10, key=key(PAGE, "gsteps"), bind=BIND)
with panels.explorer_errors():
    gfig, decay = gradient_figure(float(scale), float(keep_bias), int(steps), seed)
panels.chart(gfig, key="rec-gradients")
st.caption("Per step back the gradient is multiplied by about: "
           + ", ".join(f"**{k}** ×{v:.3g}" for k, v in decay.items())
           + ". Below 1 it vanishes geometrically; above 1 it explodes."
           + (" With the gate bias near 0 the LSTM's forget gate and the GRU's update gate sit near σ(0) = 0.5 and "
              "halve what they carry at every step, so the gated cells do no better than the plain RNN: raise the "
              "bias to 3 and they carry the gradient much further." if keep_bias < 1 else ""))


# -- training -------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=256)
def trained(kind, hidden, seed, chunks):
    """The run after `chunks` × TRAIN_CHUNK steps, computed once per server and read-only afterwards;
    each chunk continues from the cached one before it, so the page can move a progress bar."""
    if chunks == 0:
        return start_training(kind, hidden, seed=seed)
    return worker.run(continue_training, trained(kind, hidden, seed, chunks - 1), TRAIN_CHUNK)


@st.cache_resource(max_entries=16, show_spinner=False)
def training_figures(kind, hidden, seed, chunks):
    result = trained(kind, hidden, seed, chunks)
    before = trace_recurrent(result.recurrent(trained=False), result.inputs)
    after = trace_recurrent(result.recurrent(trained=True), result.inputs)
    return (figures.loss_curve(result), figures.predictions_figure(result),
            figures.gate_heatmaps(before, player=False, compact=True, title="before training"),
            figures.gate_heatmaps(after, player=False, compact=True, title=f"after {result.steps} steps"))


st.subheader(f"Training: {ARTICLE[kind]} {kind} learns to predict the next value of a sine wave")
st.markdown(f"A tiny model ({ARTICLE[kind]} {kind} with one input, then a Linear head) reads sine waves of random phase and "
            "period and learns x_(t+1) from x_1..x_t with Adam, on fresh waves at every step.")
c1, c2 = st.columns(2)
train_hidden = c1.slider("Hidden units", 2, 32, 8, key=key(PAGE, "thidden"), bind=BIND)
train_steps = c2.slider("Training steps", TRAIN_CHUNK, 1000, 300, step=TRAIN_CHUNK, key=key(PAGE, "tsteps"),
                        bind=BIND)
chunks = int(train_steps) // TRAIN_CHUNK
bar = st.progress(0.0, text="Training…")
for done in range(chunks + 1):
    result = trained(kind, int(train_hidden), seed, done)
    if result.losses:
        bar.progress(done / chunks, text=f"Training: step {result.steps} of {train_steps}, "
                                         f"loss {result.losses[-1]:.4f}")
bar.empty()
loss_fig, pred_fig, gates_before, gates_after = training_figures(kind, int(train_hidden), seed, chunks)
c1, c2 = st.columns(2)
with c1:
    panels.chart(loss_fig, key="rec-loss")
with c2:
    panels.chart(pred_fig, key="rec-predictions")
st.markdown("**The gates on the same held-out wave, before and after training**")
c1, c2 = st.columns(2)
with c1:
    panels.chart(gates_before, key="rec-train-before")
with c2:
    panels.chart(gates_after, key="rec-train-after")

# -- shapes, code, export -------------------------------------------------------------------------
@st.cache_data(max_entries=32, show_spinner=False)
def code(setup, x_code):
    return snippet(setup[0], run(*setup), setup[2], x_code)


c1, c2 = st.columns(2)
with c1:
    st.subheader("Shapes and parameters")
    block = {"RNN": "one block", "LSTM": "4 blocks [i | f | g | o]", "GRU": "3 blocks [r | z | n]"}[kind]
    st.markdown(f"torch stacks the matrices of all gates in one tensor per layer and direction: **{block}** of "
                f"hidden_size = {H} rows each, in that order. That is why weight_ih_l0 has {cfg.gates}·{H} = "
                f"{cfg.gates * H} rows.")
    formula, total = parameter_formula(trace.module)
    suffix = f"l{layer}" + ("_reverse" if direction else "")
    rows = [("input x", f"{tuple(trace.x.shape)}  " + ("(batch, T, features)" if cfg.batch_first
                                                         else "(T, batch, features)")),
            ("output", f"{tuple(trace.output.shape)}  (… , directions × {trace.out_size})"),
            ("h_n", f"{tuple(trace.h_n.shape)}  (layers × directions, batch, {trace.out_size})")]
    if trace.c_n is not None:
        rows.append(("c_n", f"{tuple(trace.c_n.shape)}  (layers × directions, batch, {H})"))
    rows += [(name, f"{shape}  {what}") for name, shape, _, what in parameter_rows(trace.module)
             if name.endswith(suffix)]
    rows.append(("parameters", f"{total:,} = " + "; ".join(formula)))
    panels.shapes_panel(rows)
with c2:
    st.subheader("Reproduce it in PyTorch")
    panels.code_box(code(setup, x_code), "recurrent.py")


@st.cache_data(max_entries=32, show_spinner=False)
def export(setup, layer, direction, t, units):
    return export_tables(run(*setup), layer, direction, t, list(units))


panels.csv_download(export(setup, layer, direction, t, tuple(units)), "recurrent.csv")

st.subheader("Common mistakes")
@st.cache_resource(show_spinner=False)
def mistakes():
    return examples.mistakes()


for m in mistakes():
    panels.mistake_callout(m, lambda tr: st.dataframe(pd.DataFrame(
        {"output[-1]": tr.output[-1].tolist(), "h_n[0]": tr.h_n[0].tolist(), "c_n[0]": tr.c_n[0].tolist()}),
        width="content"))

panels.page_end(PAGE)
