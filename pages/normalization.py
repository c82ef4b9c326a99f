"""Normalization: one mean and one variance per group of cells, then a per-feature scale and shift."""
import pandas as pd
import streamlit as st
import torch

from explorer import trace_norm
from explorer.examples import normalization as examples
from explorer.figures import normalization as figures
from explorer.normalization_config import AFFINE_INITS, DEFAULTS, KINDS, NormConfig, run_norm, snippet
from explorer.normalization_steps import batch_size_effect
from ui import classroom, panels
from ui.state import BIND, clamp, keep_option, key

PAGE = "norm"
SHORT = {"BatchNorm": "bn", "LayerNorm": "ln", "InstanceNorm": "in", "GroupNorm": "gn", "RMSNorm": "rms"}
LAYOUTS = {"(N, C, H, W)": 2, "(N, C, L)": 1, "(N, C)": 0}
EPS = ("1e-05", "0.001", "0.01", "0.1", "1.0")
MOMENTA = ("0.01", "0.1", "0.3", "0.5", "0.9", "1.0", "None")
DRAWN = dict(max_samples=4, max_channels=8, max_cells=64)   # the grid's thinning, shared by drawing and clicking
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64)
NONE_MOMENTUM = {"BatchNorm": " (momentum None: 1/k, the plain average of all k batches so far)",
                 "InstanceNorm": " (InstanceNorm reads momentum None as 0: nothing moves)"}

panels.header("Normalization", "Every normalization layer computes **one mean and one variance per group of "
              "cells**, normalizes with them, then scales and shifts each feature: "
              "y = (x − mean) / √(var + ε) · γ + β. BatchNorm, LayerNorm, InstanceNorm, GroupNorm and RMSNorm "
              "differ only in **which cells share a statistic**.")
classroom.tour(PAGE, [
    "In the coloured grid every block is one (sample, channel) and cells of one colour share one mean and "
    "one variance. Switch **Normalization** between BatchNorm, LayerNorm, InstanceNorm and GroupNorm and "
    "watch the colours regroup; the strip under it shows all five at once.",
    "Click a cell of the grid: its group is outlined and **The math for one cell** works out its mean, "
    "variance and normalized value with the real numbers. Turn on **Predict before you look** and compute "
    "x̂ yourself first.",
    "Look at the three stages: after normalizing, every group has mean 0 and variance 1; γ·x̂ + β then "
    "rescales each channel. Set **γ and β** to torch's default and the last two panels become the same.",
    "With BatchNorm, press ▶ in **Train vs eval**: every batch pulls running_mean and running_var toward "
    "its own statistics by the momentum. Then set **mode** to eval: the output uses those running "
    "statistics instead of the batch's own.",
    "Step the batch size in **Batch size**: with few samples BatchNorm's statistics, and so every sample's "
    "output, jump from batch to batch; LayerNorm and GroupNorm never look at the other samples.",
])

seed = int(st.session_state.get("seed", 0))
layer_box = st.expander("Layer", expanded=not classroom.presenting())
input_box = st.expander("Input", expanded=not classroom.presenting())

# -- controls: the layer family first, the input next (its shape sets what the layer may do) -------
with layer_box:
    c = st.columns([5, 1])
    kind = c[0].radio("Normalization", KINDS, horizontal=True, key=key(PAGE, "kind"), bind=BIND)
    dtype_name = c[1].selectbox("dtype", ("float32", "float64"), key=key(PAGE, "dtype"), bind=BIND)
short = SHORT[kind]

with input_box, panels.explorer_errors():
    c1, c2 = st.columns([1, 3])
    source = c1.radio("Input", ("random", "preset", "typed"), key=key(PAGE, "src"), bind=BIND,
                      help="Every choice is a real tensor fed to the layer.")
    with c2:
        if source == "preset":
            preset = st.selectbox("The seed notes' worked examples", examples.PRESETS, key=key(PAGE, "preset"),
                                  bind=BIND)
            x = examples.input_preset(preset)
            x_code = examples.counting_code(tuple(x.shape))
            st.caption(f"1, 2, 3, … laid out as {tuple(x.shape)}; the **Common mistakes** below say what the "
                       "notes got wrong about it.")
        elif source == "random":
            layout = st.radio("Layout", tuple(LAYOUTS), horizontal=True, key=key(PAGE, "layout"), bind=BIND)
            c = st.columns(6)
            n = c[0].slider("N (batch)", 1, 32, 4, key=key(PAGE, "n"), bind=BIND)
            ch = c[1].slider("C (channels)", 1, 16, 4, key=key(PAGE, "c"), bind=BIND)
            dims = LAYOUTS[layout]
            if dims == 2:
                h = c[2].slider("H", 1, 16, 3, key=key(PAGE, "h"), bind=BIND)
                w = c[3].slider("W", 1, 16, 3, key=key(PAGE, "w"), bind=BIND)
                shape = (n, ch, h, w)
            elif dims == 1:
                shape = (n, ch, c[2].slider("L", 1, 64, 6, key=key(PAGE, "l"), bind=BIND))
            else:
                shape = (n, ch)
            step = c[4].slider("channel offset", 0.0, 5.0, 1.0, 0.5, key=key(PAGE, "offset"), bind=BIND,
                               help="Channel c is drawn around offset × c: BatchNorm removes such per-channel "
                                    "levels, LayerNorm does not.")
            std = c[5].slider("spread (std)", 0.1, 5.0, 1.0, 0.1, key=key(PAGE, "std"), bind=BIND)
            x = examples.random_input(shape, seed, std=std, channel_step=step)
            x_code = examples.random_input_code(shape, seed, std=std, channel_step=step)
            st.caption(f"Normal values rounded to 2 decimals, seed {seed} (change it in the sidebar).")
        else:
            shape_text = st.text_input("Shape, batch first: (N, C), (N, C, L) or (N, C, H, W)", "2, 3",
                                       key=key(PAGE, "shape"), bind=BIND)
            typed = st.text_area("Values in row-major order, like torch.tensor([...]).view(shape)",
                                 "1, 2, 3\n4, 5, 6", key=key(PAGE, "typed"), bind=BIND, height=120)
            x = examples.typed_input(typed, shape_text)
            x_code = None
shape = tuple(x.shape)

with layer_box, panels.explorer_errors():
    defaults = DEFAULTS[kind]
    c = st.columns([1, 1, 1, 1, 2])
    eps_options = EPS + (("None",) if kind == "RMSNorm" else ())
    eps = c[0].selectbox("eps", eps_options, key=key(PAGE, f"{short}.eps"), bind=BIND,
                         help="Added to the variance: keeps the division away from 0."
                              + (" None: the dtype's machine epsilon." if kind == "RMSNorm" else ""))
    affine_name = "elementwise_affine" if kind in ("LayerNorm", "RMSNorm") else "affine"
    affine = c[1].toggle(affine_name, defaults["affine"], key=key(PAGE, f"{short}.affine"), bind=BIND,
                         help="Learned γ (scale) and β (shift) applied after normalizing.")
    args = dict(kind=kind, eps=None if eps == "None" else float(eps), affine=affine)
    if affine and kind != "RMSNorm":
        args["bias"] = c[1].toggle("bias", True, key=key(PAGE, f"{short}.bias"), bind=BIND,
                                   help="bias=False keeps the scale γ but drops the shift β.")
    if kind == "GroupNorm":
        divisors = [g for g in range(1, shape[1] + 1) if shape[1] % g == 0]
        keep_option(key(PAGE, "groups"), divisors)
        args["num_groups"] = c[2].selectbox("num_groups", divisors, index=divisors.index(2) if 2 in divisors else 0,
                                            key=key(PAGE, "groups"), bind=BIND,
                                            help=f"Must divide the {shape[1]} channels. 1 group: LayerNorm over "
                                                 f"(C, positions); {shape[1]} groups: InstanceNorm.")
    if kind in ("LayerNorm", "RMSNorm"):
        options = list(range(1, len(shape)))
        keep_option(key(PAGE, f"{short}.dims"), options)
        args["normalized_dims"] = c[3].selectbox(
            "normalized_shape", options, index=len(options) - 1, key=key(PAGE, f"{short}.dims"), bind=BIND,
            format_func=lambda k: str(list(shape[-k:])),
            help="The trailing dims one statistic averages over: each index of the other dims gets its own.")
    if affine:
        args["affine_init"] = c[4].selectbox("γ and β", tuple(AFFINE_INITS), format_func=AFFINE_INITS.get,
                                             key=key(PAGE, "init"), bind=BIND,
                                             help="The values of the learned scale and shift.")
    if kind in ("BatchNorm", "InstanceNorm"):
        c = st.columns([3, 2, 2, 4])
        track = c[0].toggle("track_running_stats", defaults["track_running_stats"], key=key(PAGE, f"{short}.track"),
                            bind=BIND, help="Keep running_mean / running_var for eval mode.")
        args["track_running_stats"] = track
        if track:
            args["train"] = c[1].radio("mode", ("train", "eval"), horizontal=True, key=key(PAGE, "mode"),
                                       bind=BIND, help="train: normalize with this batch's statistics; eval: "
                                                       "with the running statistics.") == "train"
            momentum = c[2].select_slider("momentum", MOMENTA, "0.1", key=key(PAGE, f"{short}.momentum"),
                                          bind=BIND, help="running = (1 − m)·running + m·batch; None: the "
                                                          "cumulative average of every batch so far (m = 1/k).")
            args["momentum"] = None if momentum == "None" else float(momentum)
            args["batches"] = c[3].slider("training batches before this input", 1, 30, 5, key=key(PAGE, "batches"),
                                          bind=BIND, help="Batches drawn like this input that the layer saw "
                                                          "first, so eval mode has running statistics to use.")
        else:
            c[1].caption("No running statistics: train and eval mode both normalize with the batch's own "
                         "statistics.")
    cfg = NormConfig(**args)


# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def run(cfg, x, seed, dtype_name):
    """Layer + trace (and the training run before it) for one setting; cached by value."""
    return run_norm(cfg, torch.from_numpy(x).to(getattr(torch, dtype_name)), seed)


# Figures are cached with st.cache_resource and only ever read (st.plotly_chart sends a copy): a go.Figure
# from st.cache_data is unpickled and re-validated on every rerun, which costs more than the rest of it.
@st.cache_resource(max_entries=64, show_spinner=False)
def comparison(x, num_groups, dtype_name):
    """All five layers on the same input, so the groupings can be compared at a glance."""
    x = torch.from_numpy(x).to(getattr(torch, dtype_name))
    layers = examples.five_layers(tuple(x.shape), num_groups=num_groups, dtype=x.dtype)
    return figures.grouping_comparison([trace_norm(m, x) for m in layers.values()])


@st.cache_resource(max_entries=8, show_spinner=False)
def batch_size_figures(seed):
    effect = batch_size_effect(BATCH_SIZES, trials=48, seed=seed)
    return figures.batch_size_player(effect), figures.batch_size_noise(effect)


setup = (cfg, x.numpy(), seed, dtype_name)
with panels.explorer_errors():
    trace, training = run(*setup)

# -- the visual: which cells share a statistic ------------------------------------------------------
CELL_NAMES = ("sample", "channel") + (("row", "column") if len(shape) == 4 else ("position",) if len(shape) == 3
                                      else ())
if kind in ("LayerNorm", "RMSNorm") and len(shape) == 2:
    CELL_NAMES = ("sample", "feature")


def select_clicked(point):
    """A click on the grid selects that cell (before the rerun, so the inputs below show it)."""
    index = point.get("customdata")
    if isinstance(index, (list, tuple)) and len(index) == len(CELL_NAMES):
        for name, i in zip(CELL_NAMES, index):
            st.session_state[key(PAGE, f"cell.{name}")] = int(i)


st.subheader("Which cells share a mean and a variance")
cols = st.columns(len(CELL_NAMES) + 2)
cols[0].markdown("**Selected cell**")
for d, (name, size) in enumerate(zip(CELL_NAMES, shape)):
    clamp(key(PAGE, f"cell.{name}"), 0, size - 1)
index = tuple(int(cols[d + 1].number_input(name, 0, size - 1, 0, key=key(PAGE, f"cell.{name}"), bind=BIND))
              for d, (name, size) in enumerate(zip(CELL_NAMES, shape)))


@st.cache_resource(max_entries=64, show_spinner=False)
def grouping_figure(setup, index, cell_px):
    return figures.grouping(run(*setup)[0], selected=index, cell_px=cell_px, **DRAWN)


# on a projector the numbers in the cells are larger: the grid gets the full width and bigger cells
c1, c2 = (st.container(), st.container()) if classroom.presenting() else st.columns([3, 2])
with c1:
    panels.chart(grouping_figure(setup, index, 46 if classroom.presenting() else 30), key="norm-grouping",
                 on_click=select_clicked)
    n_all, c_all, l_all = trace.ncl(trace.x).shape
    thinned = [f"{min(DRAWN[k], v)} of {v} {what}" for k, v, what in (
        ("max_samples", n_all, "samples"), ("max_channels", c_all, "channels"), ("max_cells", l_all, "positions"))
        if v > DRAWN[k]]
    st.caption("Black outline: the cells that share the selected cell's statistic (orange). Click a cell to select "
               "it; hover for its mean and √(var + ε). Colours repeat after 10 statistics."
               + (f" Big input: drawing {', '.join(thinned)} (evenly spaced)." if thinned else ""))
with c2:
    rows = figures.stats_table(trace)
    st.markdown(f"**{trace.mean.numel()} statistic{'s' if trace.mean.numel() != 1 else ''}**, "
                + (f"each over {trace.count} values (dims {trace.reduced_dims} of {shape})"
                   if trace.uses_batch_stats else "the running statistics (eval mode)"))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(420, 38 + 35 * len(rows)))
    if trace.mean.numel() > len(rows):
        st.caption(f"The first {len(rows)} of {trace.mean.numel()} statistics.")

if len(shape) >= 3:
    groups = cfg.num_groups if kind == "GroupNorm" else examples.default_groups(shape[1])
    with panels.explorer_errors():
        panels.chart(comparison(x.numpy(), groups, dtype_name), key="norm-compare")
    st.caption("The same input under all five layers (LayerNorm and RMSNorm over everything but the batch; "
               f"GroupNorm with {groups} group{'s' if groups != 1 else ''}).")
else:
    st.caption("An (N, C) input has no positions, so InstanceNorm does not apply; use (N, C, L) or (N, C, H, W) "
               "to compare all five layers side by side.")

# -- the stages: normalize, then the affine step ----------------------------------------------------
st.subheader("From x to x̂ to y")
stage_tab, hist_tab, affine_tab = st.tabs(["Stages on the grid", "Histograms", "The affine step γ, β"],
                                          key=key(PAGE, "stage"), bind=BIND)


@st.cache_resource(max_entries=64, show_spinner=False)
def stage_figure(setup, which):
    t = run(*setup)[0]
    return {"stages": figures.stages, "hist": figures.histograms, "affine": figures.affine_stage}[which](t)


if stage_tab.open:
    with stage_tab:
        panels.chart(stage_figure(setup, "stages"), key="norm-stages")
        st.caption("Each panel has its own colour range (blue below 0, red above). The middle panel has mean 0 "
                   "and variance 1 within every group; the right one is that, scaled by γ and shifted by β "
                   "per feature.")
if hist_tab.open:
    with hist_tab:
        panels.chart(stage_figure(setup, "hist"), key="norm-hist")
if affine_tab.open:
    with affine_tab:
        if trace.weight is None and trace.bias is None:
            st.info(f"{type(trace.module).__name__} was built with {affine_name}=False: it has no γ or β, so its "
                    "output is the normalized x̂ itself.")
        else:
            panels.chart(stage_figure(setup, "affine"), key="norm-affine")
            st.caption("Left: one γ and one β per feature (channel, or index into normalized_shape). Right: every "
                       "feature maps x̂ to γ·x̂ + β along its own straight line; dots are cells.")


# -- math panel -----------------------------------------------------------------------------------
def _num(v, digits=6):
    """A number for a formula: negatives in parentheses, so '1.5 · (−2)' reads right."""
    return f"({v:.{digits}g})" if v < 0 else f"{v:.{digits}g}"


def _values(cell, shown=6, join=" + ", square=False):
    vals = cell.members.tolist()
    more = f"{join}… ({len(vals) - shown} more)" if len(vals) > shown else ""
    return join.join(_num(v, 4) + ("²" if square else "") for v in vals[:shown]) + more


st.subheader("The math for one cell")
cell = trace.cell(index)
where = f"x[{', '.join(map(str, index))}]"
st.markdown(f"**{where} = {cell.x:.6g}** uses the statistic of **{cell.label}** "
            f"(one of {trace.mean.numel()}).")
lines = []
if cell.from_running:
    lines += [f"eval mode: mean = running_mean[{cell.channel}] = **{cell.mean:.6g}** (train mode would use this "
              f"input's own {cell.own_mean:.6g})",
              f"var = running_var[{cell.channel}] = **{cell.var:.6g}** (train mode: {cell.own_var:.6g})"]
elif cell.centred:
    lines += [f"mean = ({_values(cell)}) / {cell.count} = {_num(cell.total)} / {cell.count} = **{cell.mean:.6g}**",
              f"var = Σ(v − mean)² / {cell.count} = {cell.squares:.6g} / {cell.count} = **{cell.var:.6g}** "
              f"(biased: divided by n = {cell.count}, not n − 1)"]
else:
    lines += [f"no mean is subtracted: mean square = ({_values(cell, square=True)}) / {cell.count} = "
              f"{cell.squares:.6g} / {cell.count} = **{cell.var:.6g}**"]
lines.append(f"√(var + ε) = √({cell.var:.6g} + {cell.eps:.3g}) = **{cell.std:.6g}**")
st.markdown("\n".join(f"- {line}" for line in lines))
revealed = classroom.predict(f"{PAGE}.predict", f"the normalized value x̂ at {where}", cell.normalized)
if revealed:
    minus = f" − {_num(cell.mean)}" if cell.centred else ""
    y_line = (f"y = γ·x̂ + β = {_num(cell.gamma)} · {_num(cell.normalized)} + {_num(cell.beta)} = "
              f"**{cell.manual:.6g}**")
    diff = abs(cell.output - cell.manual)
    st.markdown(f"- x̂ = ({_num(cell.x)}{minus}) / {cell.std:.6g} = **{cell.normalized:.6g}**\n"
                f"- {y_line} (feature {cell.feature})\n"
                f"- the module computed **{cell.output:.6g}**"
                + (" (the same)." if diff == 0 else f" (difference {diff:.1e}: rounding, the module works in "
                   "another order)."))
    if cell.update_factor is not None:
        avg = (f" (the mean over the {cell.samples_averaged} samples of their own statistics)"
               if cell.samples_averaged and cell.samples_averaged > 1 else "")
        st.markdown(
            f"This train-mode forward also moves the running statistics of channel {cell.channel}, with "
            f"m = {cell.update_factor:.4g}{NONE_MOMENTUM[kind] if trace.module.momentum is None else ''}{avg}:\n"
            f"- running_mean = (1 − m)·{_num(cell.running_mean_before)} + m·{_num(cell.new_mean)} = "
            f"**{cell.running_mean_after:.6g}**\n"
            f"- running_var = (1 − m)·{cell.running_var_before:.6g} + m·{cell.new_var:.6g} = "
            f"**{cell.running_var_after:.6g}**: the **unbiased** variance "
            + (f"{cell.new_var:.6g} = {cell.var:.6g} × {cell.count}/{cell.count - 1}" if not avg else
               f"{cell.new_var:.6g} (each ×n/(n − 1))") + " goes in, not the biased one used above.")
else:
    st.caption("x̂ and the output are hidden until you check your prediction; the mean and √(var + ε) above are "
               "all you need.")

# -- train vs eval ---------------------------------------------------------------------------------
st.subheader("Train vs eval: the running statistics")


@st.cache_resource(max_entries=64, show_spinner=False)
def training_figures(setup, channel):
    t = run(*setup)[1]
    return figures.running_stepper(t, channel), figures.train_vs_eval(t, channel)


if training is None:
    st.info(f"{type(trace.module).__name__} keeps no running statistics "
            + ("(track_running_stats=False): " if kind in ("BatchNorm", "InstanceNorm") else ": ")
            + "it computes its statistics from the input in train and eval mode alike. Choose BatchNorm (or "
              "InstanceNorm with track_running_stats) to watch running statistics build up.")
else:
    channels = training.running_mean.shape[1]
    clamp(key(PAGE, "rchan"), 0, channels - 1)
    channel = st.columns(6)[0].number_input("Channel to follow", 0, channels - 1, channels - 1,
                                            key=key(PAGE, "rchan"), bind=BIND)
    stepper, versus = training_figures(setup, int(channel))
    st.caption(f"The layer saw {len(training.traces)} training batches drawn like this input (around its own "
               "per-channel mean and spread, dashed). Press ▶ or drag the slider; stepping runs in your browser.")
    panels.chart(stepper, key="norm-running")
    mode = "train" if cfg.train else "eval"
    c1, c2 = st.columns([3, 2])
    with c1:
        panels.chart(versus, key="norm-versus")
    with c2:
        first = (0, int(channel)) + (0,) * (len(shape) - 2)                    # sample 0's first cell of the channel
        tc, ec = training.train_trace.cell(first), training.eval_trace.cell(first)
        whose = "sample 0's" if kind == "InstanceNorm" else "this batch's"
        st.markdown(
            f"**The same input, two modes** (the page above shows **{mode}** mode).\n\n"
            f"- train mode normalizes channel {int(channel)} with {whose} own mean {tc.mean:.4g} and biased "
            f"variance {tc.var:.4g}\n"
            f"- eval mode uses running_mean {ec.mean:.4g} and running_var {ec.var:.4g}\n\n"
            f"So x = {tc.x:.4g} becomes {tc.output:.4g} in train mode and {ec.output:.4g} in eval mode. The "
            "closer the running statistics are to the batch's, the closer the two clouds of points.")

# -- batch size -----------------------------------------------------------------------------------
st.subheader("Batch size: BatchNorm's statistics depend on the rest of the batch")
player, noise = batch_size_figures(seed)
st.caption("Sample 0 stays the same; the other samples of its batch are redrawn 48 times per batch size (4 channels "
           "of 4 × 4, GroupNorm with 2 groups). Each dot is one batch. Step the batch size with the slider.")
panels.chart(player, key="norm-batchsize")
with st.expander("The spread against batch size"):
    panels.chart(noise, key="norm-noise")
    st.caption("Left: how much the mean for sample 0 moves over fully random batches (BatchNorm shrinks like "
               "1/√B). Right: how much sample 0's output moves when only its batch-mates change: exactly 0 for "
               "LayerNorm and GroupNorm.")

panels.check_badge(trace)

# -- shapes, parameters, code ----------------------------------------------------------------------
c1, c2 = st.columns(2)
with c1:
    st.subheader("Shapes and parameters")
    module = trace.module
    n_params = sum(p.numel() for p in module.parameters())
    rows = [("input", str(shape)), ("layer", type(module).__name__),
            ("statistics", f"{trace.mean.numel()} mean/var pairs, shape {tuple(trace.mean.shape)}"),
            ("reduced dims", f"{trace.reduced_dims}" + (f" within each of {trace.num_groups} channel groups"
                                                        if kind == "GroupNorm" else ""))]
    rows += [(f"{name} ({'γ' if name == 'weight' else 'β'})", str(tuple(p.shape))) for name, p in
             module.named_parameters()]
    rows += [(f"buffer {name}", str(tuple(b.shape))) for name, b in module.named_buffers() if b.dim()]
    if trace.num_batches_tracked_before is not None:
        rows.append(("buffer num_batches_tracked", f"a count: {trace.num_batches_tracked_before} before this input, "
                                                   f"{trace.num_batches_tracked_after} after"))
    rows += [("learned parameters", f"{n_params:,}"), ("output", str(tuple(trace.output.shape)))]
    panels.shapes_panel(rows)
with c2:
    st.subheader("Reproduce it in PyTorch")
    code = snippet(trace, x_code, (cfg.batches, seed) if training is not None else None)
    panels.code_box(code, "normalization.py")

if revealed:
    cells = figures.cells_table(trace)
    stats = pd.DataFrame(figures.stats_table(trace, max_rows=10_000))
    panels.csv_download({"layer": pd.DataFrame({"value": [type(trace.module).__name__, str(cfg)]}),
                         "statistics": stats, f"cells (first {len(cells)})": pd.DataFrame(cells),
                         f"selected cell {where}": pd.DataFrame([{k: v for k, v in vars(cell).items()
                                                                  if k != "members"}])},
                        "normalization.csv")

# -- the seed notes' mistakes ---------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def mistakes():
    """The notes' examples with their real traces: the same for everyone, read only."""
    return examples.mistakes()


# each mistake's example as explorer settings (in the order of examples.mistakes()); γ = 1, 2, 3, … and
# β = −1, −2, −3, … are the notes' values (GroupNorm's notes give one per group; the layer needs one
# per channel)
MISTAKE_VIEWS = [dict(kind=k, src="preset", preset=preset, init="counting",
                      **{f"{SHORT[k]}.affine": True, f"{SHORT[k]}.bias": True})
                 for k, preset in zip(("BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"), examples.PRESETS)]
MISTAKE_VIEWS[0].update(mode="train")
MISTAKE_VIEWS[3].update(groups=2)


def open_view(view):
    """Load a mistake's example into the controls above (runs before the rerun draws them)."""
    for name, value in view.items():
        st.session_state[key(PAGE, name)] = value


def show_output(t, i):
    labels, positions, values = figures.as_rows(t, t.output)
    st.dataframe(pd.DataFrame(figures.stats_table(t)), hide_index=True, width="content")
    st.dataframe(pd.DataFrame(values, index=labels, columns=positions).round(4), width="content")
    st.button("Open this example in the explorer above", key=f"{PAGE}.open{i}", on_click=open_view,
              args=(MISTAKE_VIEWS[i],), help="Sets the input, the layer and γ, β to this example.")


st.subheader("Common mistakes")
st.caption("Worked examples from widely read notes that go wrong, next to what the real layers compute.")
for i, m in enumerate(mistakes()):
    panels.mistake_callout(m, lambda t, i=i: show_output(t, i))

panels.page_end(PAGE)
