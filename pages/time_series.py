"""Time series: a Conv1d differentiator, an LSTM and additive attention predict the next value."""
import contextvars

import pandas as pd
import streamlit as st
import torch

from explorer import worker
from explorer.examples import timeseries as examples
from explorer.figures import attention as attention_figures
from explorer.figures import conv as conv_figures
from explorer.figures import recurrent as recurrent_figures
from explorer.figures import timeseries as figures
from explorer.timeseries import SERIES, parameter_counts, synthetic, trace_pipeline
from explorer.timeseries_snippet import snippet
from explorer.timeseries_training import TrainConfig, forecast, train, validate, window_at
from ui import classroom, panels
from ui.inputs import csv_column_input
from ui.state import BIND, clamp, key

PAGE = "ts"
SOURCES = ("synthetic", "CSV upload")
STAGES = ("Conv1d", "LSTM", "attention", "Linear head")

panels.header("Time-series pipeline", "The model of the time-series notes predicts the next value of a series: a "
              "**Conv1d** with the fixed kernel [1, 0, −1] turns values into changes, an **LSTM** reads the "
              "changes step by step, **additive attention** lets its last state pick the past steps that matter, "
              "and a **Linear** head makes the prediction. Every stage is a real module, traced.")
classroom.tour(PAGE, [
    "Press ▶ under the forecast: the player steps through the predictions in your browser. Green rings are the "
    "true next values, blue diamonds the predictions, and the orange dots on the window grow with its attention "
    "weight.",
    "Set **Training steps** to 0: the untrained model's predictions are a flat line. Raise it again and compare "
    "the held-out error with the naive forecast's (next value = last value).",
    "Follow one window down **One window through the model**: the shape at every arrow, and the permute that "
    "turns [batch, channels, seq] into the [seq, batch, features] the LSTM reads.",
    "Open the **① Conv1d** tab and step the kernel: each d_t is x_(t−1) − x_(t+1). The first and last steps "
    "read a padding zero, which is why their d is so different.",
    "Switch **Shape** to steps: the differentiator is near zero except at the jumps. Watch what the LSTM's "
    "units and the attention weights do there.",
    "Turn on **Predict before you look** in the math panel, pick a stage and a step, and work the value out "
    "by hand before you check it.",
])

# -- controls -------------------------------------------------------------------------------------
with st.expander("Series", expanded=not classroom.presenting()):
    c = st.columns([1, 1, 2])
    source = c[0].radio("Series", SOURCES, key=key(PAGE, "src"), bind=BIND,
                        help="A synthetic series drawn from the sidebar seed, or a column of your own CSV.")
    series = None
    if source == "CSV upload":
        with c[1], panels.explorer_errors():
            series = csv_column_input(PAGE)
        if series is None:
            c[2].info("Upload a CSV to forecast one of its columns; until then the sine series is used.")
    else:
        kind = c[1].selectbox("Shape", SERIES, key=key(PAGE, "kind"), bind=BIND)
        length = c[2].slider("Length", 48, 600, 160, step=8, key=key(PAGE, "len"), bind=BIND,
                             help="Values in the series; the last 20% are held out of training.")
seed = int(st.session_state.get("seed", 0))
if series is None:
    series = synthetic(kind if source == "synthetic" else SERIES[0], int(length) if source == "synthetic" else 160,
                       seed=seed)

with st.expander("Model and training", expanded=not classroom.presenting()):
    c = st.columns(4)
    window = c[0].slider("Window", 4, 64, 24, key=key(PAGE, "window"), bind=BIND,
                         help="How many past values the model reads to predict the next one.")
    hidden = c[1].select_slider("LSTM hidden size", (2, 4, 8, 16, 32), 8, key=key(PAGE, "hidden"), bind=BIND)
    steps = c[2].slider("Training steps", 0, 1000, 300, step=50, key=key(PAGE, "steps"), bind=BIND,
                        help="Adam steps on batches of 32 windows; 0 keeps the freshly initialised weights.")
    lr = c[3].select_slider("Learning rate", (0.001, 0.003, 0.01, 0.03, 0.1), 0.01, key=key(PAGE, "lr"), bind=BIND)

cfg = TrainConfig(window=int(window), hidden=int(hidden), steps=int(steps), lr=float(lr), seed=seed)
values = series.double().numpy()
with panels.explorer_errors():
    validate(cfg, len(values))


@st.cache_resource(max_entries=32, show_spinner=False)
def trained(cfg, values, _progress=None):
    """One training run per (config, series) for the whole server; shared, so read-only."""
    return worker.run(train, torch.from_numpy(values), cfg, progress=_progress)


@st.cache_data(max_entries=32, show_spinner=False)
def forecast_of(cfg, values):
    return forecast(trained(cfg, values), torch.from_numpy(values))


# Figures and traces below are cached as resources: unpickling a figure with a hundred frames (what
# st.cache_data does on every hit) costs more than building it. Nothing here is ever modified after
# it is made; st.plotly_chart only reads a figure.
@st.cache_resource(max_entries=64, show_spinner=False)
def forecast_figure(cfg, values, step):
    return figures.forecast(forecast_of(cfg, values), values, selected=step)


@st.cache_resource(max_entries=64, show_spinner=False)
def pipeline(cfg, values, step):
    model = trained(cfg, values)
    return model.scaling, trace_pipeline(model.model, window_at(model, torch.from_numpy(values), step))


@st.cache_resource(max_entries=64, show_spinner=False)
def window_figures(cfg, values, step):
    scaling, trace = pipeline(cfg, values, step)
    labels = [str(s) for s in range(step - cfg.window, step)]
    return figures.flow(trace, 0, scaling), figures.stage_values(trace, 0, steps=labels)


@st.cache_resource(max_entries=64, show_spinner=False)
def stage_figures(cfg, values, step, stage):
    """A stage's own views, from the Convolution, Recurrent and Attention pages' figure modules."""
    _, trace = pipeline(cfg, values, step)
    labels = [str(s) for s in range(step - cfg.window, step)]
    if stage == STAGES[0]:
        return [figures.stacked_stepper(conv_figures.stepper(trace.conv, 0, 0, 0))]
    if stage == STAGES[1]:
        return [recurrent_figures.gate_heatmaps(trace.lstm, b=0, t=cfg.window - 1, labels=labels),
                recurrent_figures.cell_diagram(trace.lstm, b=0, t=cfg.window - 1)]
    if stage == STAGES[2]:
        return [figures.stacked_scores(attention_figures.scores_vs_weights(
            trace.attention, 0, 0, query_tokens=["h_n[-1]"], key_tokens=labels))]
    return []


# -- training -------------------------------------------------------------------------------------
bar = st.empty()
page_context = contextvars.copy_context()  # progress is drawn from the page, not recorded by the cache


def progress(step, total, loss):
    page_context.run(bar.progress, step / total, text=f"Training: step {step} of {total}, loss {loss:.4g}")


with panels.explorer_errors():
    model = trained(cfg, values, _progress=progress)
    fc = forecast_of(cfg, values)
bar.empty()

st.subheader("Predictions vs truth")
c1, c2 = st.columns([1, 2])
with c1:
    st.metric("Held-out error (MSE)", f"{fc.test_mse:.4g}",
              delta=f"{fc.test_mse - fc.naive_test_mse:+.3g} vs naive", delta_color="inverse",
              help="Mean squared error on the last 20%, which the model never trained on. Naive: predict that "
                   "the next value equals the last one.")
    st.metric("Naive forecast, held out (MSE)", f"{fc.naive_test_mse:.4g}")
    st.metric("Training error (MSE)", f"{fc.train_mse:.4g}")
    st.caption(f"{len(fc.steps)} predictions, {fc.n_train} of them of training targets; window {cfg.window}, "
               f"hidden size {cfg.hidden}, {cfg.steps} Adam steps at learning rate {cfg.lr:g}, seed {seed}."
               + (" On the held-out part the model does worse than repeating the last value: it has not learned "
                  "this pattern (try more steps, another learning rate, or a shorter window)."
                  if fc.test_mse > fc.naive_test_mse else ""))
with c2:
    if model.losses:
        panels.chart(recurrent_figures.loss_curve(model.losses), key="ts-loss")
    else:
        st.info("0 training steps: the weights are the seeded initial ones, so there is no loss curve.")

# -- math panel -------------------------------------------------------------------------------------
def _n(v):
    """A number for a worked product: negative ones in brackets."""
    return f"({v:.6g})" if v < 0 else f"{v:.6g}"


def _conv_math(trace, k):
    win = trace.conv.window(0, 0, k)
    rows = [{"input": "padding" if t.input_index is None else f"x[{t.input_index[1]}]", "x": t.x,
             "kernel w": t.w, "x · w": t.product} for t in win.terms]
    worked = " + ".join(f"({t.x:.6g})·({t.w:g})" for t in win.terms)
    return (f"d[{k}], the Conv1d output at step {k} of the window", float(trace.conv.output[0, 0, k]), rows,
            f"**d[{k}]** = {worked} = **{win.total:.6g}**")


def _lstm_math(trace, k, u):
    s = trace.lstm.step(0, 0, k, 0)
    g = {n: float(v[u]) for n, v in s.gates.items()}
    rows = [{"gate": n, "W_i· x_t + b_i·": float(s.from_input[n][u]), "W_h· h_(t−1) + b_h·": float(s.from_hidden[n][u]),
             "after σ / tanh": g[n]} for n in trace.lstm.gate_names]
    c_prev, c = float(s.c_prev[u]), float(s.c[u])
    worked = (f"c_{k}[{u}] = f·c_(t−1) + i·g = {_n(g['forget'])}·{_n(c_prev)} + {_n(g['input'])}·{_n(g['cell'])} "
              f"= {_n(c)}, so **h_{k}[{u}]** = o·tanh(c) = {_n(g['output'])}·tanh({c:.6g}) = **{float(s.h[u]):.6g}**")
    return (f"h_{k}[{u}], unit {u} of the LSTM's output at step {k}", float(trace.lstm.output[k, 0, u]), rows, worked)


def _attention_math(trace, k):
    a, sm = trace.attention, trace.softmax_step(0, k)
    rows = [{"step": j, "score s_j": float(sm.scores[j]), "exp(s_j − max s)": float(sm.shifted_exp[j]),
             "weight": float(a.weights[0, 0, 0, j])} for j in range(trace.steps)]
    worked = (f"s_{k} = v·tanh(W_q h_n[−1] + W_k h_{k}) = {a.score_terms(0, 0, 0, k).raw:.6g}; **weight_{k}** = "
              f"exp(s_{k} − max s) / Σ_j exp(s_j − max s) = {float(sm.shifted_exp[k]):.6g} / {sm.total:.6g} = "
              f"**{sm.weight:.6g}**")
    return (f"the attention weight on step {k} of the window", float(a.module_weights[0, 0, k]), rows, worked)


def _head_rows(d):
    """The head's dot product, one row per unit of the context vector."""
    return [{"unit i": t.index[0], "context_i": t.x, "w_i": t.w, "context_i · w_i": t.product} for t in d.terms]


def _head_math(trace):
    d = trace.head.dot(0, 0)
    rows = _head_rows(d)
    worked = f"**ŷ** = Σ_i context_i · w_i + b, with b = {d.bias:.6g}: **{d.total:.6g}** (scaled)"
    return "ŷ, the Linear head's output (scaled)", float(trace.head.output[0, 0]), rows, worked


@st.fragment
def math_panel(cfg, trace):
    st.subheader("The math at one step")
    c = st.columns([3, 3, 1])
    stage = c[0].radio("Stage", STAGES, horizontal=True, key=key(PAGE, "stage"), bind=BIND)
    k = u = None
    if stage != "Linear head":
        clamp(key(PAGE, "k"), 0, cfg.window - 1)
        k = int(c[1].slider("Step in the window", 0, cfg.window - 1, cfg.window - 1, key=key(PAGE, "k"), bind=BIND))
    if stage == "LSTM":
        clamp(key(PAGE, "unit"), 0, cfg.hidden - 1)
        u = int(c[2].number_input("Unit", 0, cfg.hidden - 1, 0, key=key(PAGE, "unit"), bind=BIND))
    worked_at = {"Conv1d": lambda: _conv_math(trace, k), "LSTM": lambda: _lstm_math(trace, k, u),
                 "attention": lambda: _attention_math(trace, k), "Linear head": lambda: _head_math(trace)}
    question, truth, rows, worked = worked_at[stage]()
    revealed = classroom.predict(f"{PAGE}.predict", question, truth)
    hidden_cols = {"x · w", "after σ / tanh", "weight", "context_i · w_i"}
    table = pd.DataFrame(rows if revealed else [{n: v for n, v in r.items() if n not in hidden_cols} for r in rows])
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(rows)))
    if not revealed:
        st.caption("The results are hidden until you check your prediction.")
        return
    st.markdown(worked)
    st.markdown(f"The module computed **{truth:.6g}**.")



@st.cache_data(max_entries=32, show_spinner=False)
def tables(cfg, values, step):
    """What the page shows, as tables for the CSV download."""
    fc = forecast_of(cfg, values)
    _, trace = pipeline(cfg, values, step)
    W = cfg.window
    cut = int(fc.steps[fc.n_train])
    frames = {"series": pd.DataFrame({"step": range(len(values)), "value": values,
                                      "part": ["train" if s < cut else "held out" for s in range(len(values))]}),
              "predictions": pd.DataFrame({"step": fc.steps, "truth": fc.truth, "prediction": fc.prediction,
                                           "naive (last value)": fc.naive})}
    window = {"step": range(step - W, step), "x (scaled)": trace.x[0, 0].tolist(),
              "d = Conv1d(x)": trace.conv.output[0, 0].tolist(), "attention weight": trace.weights(0).tolist()}
    window.update({f"h unit {u}": trace.lstm.output[:, 0, u].tolist() for u in range(cfg.hidden)})
    frames[f"window before step {step}, every stage"] = pd.DataFrame(window)
    frames["context and prediction"] = pd.DataFrame(
        {"quantity": [f"context unit {u}" for u in range(cfg.hidden)] + ["prediction (scaled)", "prediction"],
         "value": trace.context(0).tolist() + [float(trace.output[0, 0]),
                                               float(pipeline(cfg, values, step)[0].unscale(float(trace.output[0, 0])))]})
    frames["parameters"] = pd.DataFrame([{"parameter": name, "index": str(tuple(i)), "value": float(p[tuple(i)])}
                                         for name, p in trace.module.named_parameters()
                                         for i in torch.cartesian_prod(*[torch.arange(n) for n in p.shape])
                                         .reshape(p.numel(), -1).tolist()])
    frames["training loss"] = pd.DataFrame({"step": range(1, cfg.steps + 1), "loss": trained(cfg, values).losses})
    return frames


# -- one prediction, traced ---------------------------------------------------------------------
# Everything from here on follows the prediction to trace, and nothing above does: moving it reruns
# only this part, so the training settings, metrics and loss curve above are neither recomputed
# nor redrawn.
@st.fragment
def traced_prediction(cfg, values, fc):
    first, last = int(fc.steps[0]), int(fc.steps[-1])
    clamp(key(PAGE, "t"), first, last)
    step = int(st.slider("Prediction to trace (the step it predicts)", first, last, min(first + fc.n_train, last),
                         key=key(PAGE, "t"), bind=BIND,
                         help="The window before this step is traced through every stage below."))
    st.caption("Press ▶ or drag the slider under the chart to step through the predictions in your browser. "
               + ("" if len(values) <= figures.MAX_POINTS else f"The line shows {figures.MAX_POINTS} evenly spaced "
                  f"of the {len(values)} values. ")
               + (f"The player visits {figures.MAX_FRAMES} evenly spaced predictions. "
                  if len(fc.steps) > figures.MAX_FRAMES else ""))
    panels.chart(forecast_figure(cfg, values, step), key="ts-forecast")

    # -- one window through the model ---------------------------------------------------------------
    st.subheader(f"One window through the model: the {cfg.window} values before step {step}")
    with panels.explorer_errors():
        scaling, trace = pipeline(cfg, values, step)
        flow, stage_view = window_figures(cfg, values, step)
    panels.chart(flow, key="ts-flow")
    panels.chart(stage_view, key="ts-values")

    st.subheader("Inside one stage")
    inside = st.segmented_control("Stage to look inside", STAGES, default=STAGES[0], key=key(PAGE, "inside"),
                                  bind=BIND, label_visibility="collapsed") or STAGES[0]
    st.caption({
        STAGES[0]: "The Convolution page's stepper on this window: d_t = 1·x_(t−1) + 0·x_t − 1·x_(t+1). The kernel "
                   "is not flipped, so a rising series gives negative d; the shaded cells are padding zeros.",
        STAGES[1]: "The Recurrent page's views: the gates over the window's steps, then the cell unrolled at one step "
                   f"(▶ steps through time; there t counts the window's steps, 0 to {cfg.window - 1}).",
        STAGES[2]: "The Attention page's view with one query, the LSTM's last state h_n[−1], and one key per step: "
                   "score_t = v·tanh(W_q h_n[−1] + W_k h_t), then a softmax over the steps.",
        STAGES[3]: "The head is one dot product: the context vector against the Linear layer's weight row, plus its bias.",
    }[inside])
    for i, fig in enumerate(stage_figures(cfg, values, step, inside)):
        panels.chart(fig, key=f"ts-stage-{i}")
    if inside == STAGES[3]:
        d = trace.head.dot(0, 0)
        st.markdown(f"ŷ = Σ_i context_i · w_i + b with b = {d.bias:.6g}: **{d.total:.6g}** (scaled), so the "
                    f"prediction is ŷ × std + mean = {d.total:.6g} × {scaling.std:.6g} + {scaling.mean:.6g} = "
                    f"**{scaling.unscale(d.total):.6g}** in the series' units.")
        st.dataframe(pd.DataFrame(_head_rows(d)), hide_index=True, width="stretch")

    math_panel(cfg, trace)

    st.subheader("Checks: the real modules against our step-by-step recomputation")
    panels.check_badge(trace, "chain of recomputations (each stage fed the one before, never a module)")
    c = st.columns(2)
    for i, (title, stage_trace) in enumerate(trace.traces):
        with c[i % 2]:
            panels.check_badge(stage_trace, f"recomputation of the {title}")

    # -- shapes, code, downloads --------------------------------------------------------------------
    st.subheader("Shapes and parameters")
    counts = parameter_counts(trace.module)
    panels.shapes_panel([(f"{a.name} = {a.op}", f"{tuple(a.shape)}  {a.layout}") for a in trace.arrows]
                        + [(f"parameters of {name}", f"{learned:,} learned" + (f" + {fixed} fixed" if fixed else ""))
                           for name, learned, fixed in counts])

    st.subheader("Reproduce it in PyTorch")
    st.caption("The trained weights and this window, exactly: the script prints the conv output, the attention weights "
               "and the prediction shown above.")
    panels.code_box(snippet(trace, scaling, step), "time_series.py")

    panels.csv_download(lambda: tables(cfg, values, step), "time_series.csv")


traced_prediction(cfg, values, fc)



@st.cache_resource(show_spinner=False)
def mistakes():
    """Fixed examples: built once per server, read-only."""
    return examples.mistakes()


st.subheader("Common mistakes")
callouts = mistakes()
panels.mistake_callout(callouts[0], lambda t: st.dataframe(pd.DataFrame({"x": t.x[0, 0].tolist(),
                                                                         "d = conv(x)": t.output[0, 0].tolist()}).T,
                                                           width="content"))
panels.mistake_callout(callouts[1], lambda t: st.dataframe(pd.DataFrame({"h_n[0]": t.h_n[0, 0].tolist(),
                                                                         "output[-1]": t.output[-1, 0].tolist()}).T,
                                                           width="content"))
panels.mistake_callout(callouts[2], lambda t: st.dataframe(pd.DataFrame(
    {"x.permute(2, 0, 1)[:, b, 0]": [str(t.permuted[:, b, 0].tolist()) for b in (0, 1)],
     "x.reshape(4, 2, 1)[:, b, 0]": [str(t.reshaped[:, b, 0].tolist()) for b in (0, 1)]},
    index=["sequence 0", "sequence 1"]), width="content"))

panels.page_end(PAGE)
