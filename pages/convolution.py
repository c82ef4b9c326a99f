"""Convolution: slide a kernel over the input (or scatter it, for a transposed convolution)."""
import pandas as pd
import streamlit as st
import torch

from explorer import trace_conv
from explorer.conv import output_size_formula
from explorer.conv_config import KINDS, PADDING_MODES, ConvConfig, build_conv, snippet, validate
from explorer.examples import conv as examples
from explorer.figures import conv as figures
from explorer.figures.theme import plain
from ui import classroom, panels
from ui.inputs import as_batch, grid_input, kernel_input
from ui.state import BIND, clamp, keep_option, key

PAGE = "conv"
PADDINGS = ("0", "1", "2", "3", "same", "valid")

panels.header("Convolution", "A kernel slides over the input; at every position it multiplies the cells under "
              "it by its weights and adds them up (plus a bias). A **transposed** convolution runs the other "
              "way: every input cell stamps a scaled copy of the kernel into a larger output.")
classroom.tour(PAGE, [
    "Press ▶ under the chart: the orange window slides over the digit and each output cell is the sum "
    "of the products inside it. Watch where the outputs are large: that is where the edge is.",
    "Set **padding** to 1: grey cells appear around the input and the output grows from 5×5 to 7×7. "
    "The output-size formula below shows why.",
    "Set **stride** to 2: the window jumps two cells at a time and the output shrinks. Then try "
    "**dilation** 2: the window spreads out with gaps.",
    "Set **in_channels** to 3: each output channel now sums three kernels, one per input channel "
    "(see the channel stack). Set **groups** to 3 and out_channels to 3 for a depthwise convolution.",
    "Switch **Layer** to ConvTranspose2d with stride 2: each input cell now stamps the kernel into the "
    "output, and the stamps overlap and add up.",
    "Turn on **Predict before you look** in the math panel, pick a position, and work out the value by "
    "hand before checking it.",
])

# -- controls -------------------------------------------------------------------------------------
with st.expander("Layer", expanded=not classroom.presenting()):
    c = st.columns(6)
    kind = c[0].selectbox("Layer", tuple(KINDS), index=1, key=key(PAGE, "kind"), bind=BIND)
    transposed = kind.startswith("ConvTranspose")
    dims = 1 if kind.endswith("1d") else 2
    in_ch = c[1].number_input("in_channels", 1, 8, 1, key=key(PAGE, "cin"), bind=BIND)
    out_ch = c[2].number_input("out_channels", 1, 8, 1, key=key(PAGE, "cout"), bind=BIND)
    groups = c[3].number_input("groups", 1, 8, 1, key=key(PAGE, "groups"), bind=BIND,
                               help="Split the channels into groups that never mix; groups = in_channels "
                                    "is a depthwise convolution.")
    k = c[4].slider("kernel_size", 1, 7, 3, key=key(PAGE, "k"), bind=BIND)
    stride = c[5].slider("stride", 1, 4, 1, key=key(PAGE, "stride"), bind=BIND)
    c = st.columns(6)
    padding = c[0].selectbox("padding", PADDINGS[:4] if transposed else PADDINGS, index=1 if dims == 1 else 0,
                             key=key(PAGE, "pad"), bind=BIND,
                             help="Transposed: cells cropped from each side of the output." if transposed else
                             "Cells added on each side; 'same' keeps the size (stride 1), 'valid' adds none.")
    dilation = c[1].slider("dilation", 1, 4, 1, key=key(PAGE, "dil"), bind=BIND,
                           help="Spacing between kernel taps: the window spreads out with gaps.")
    bias = c[2].toggle("bias", value=dims == 2, key=key(PAGE, "bias"), bind=BIND)
    bias_value = c[2].number_input("bias value", -10.0, 10.0, 0.0, step=0.1, key=key(PAGE, "bval"), bind=BIND,
                                   disabled=not bias, help="Used with a preset or typed kernel; a random "
                                   "kernel comes with a random bias.")
    if transposed:
        output_padding = c[3].number_input("output_padding", 0, 3, 0, key=key(PAGE, "opad"), bind=BIND,
                                           help="Extra cells at the end of the output; must be below stride "
                                                "or dilation.")
        padding_mode = "zeros"
    else:
        padding_mode = c[3].selectbox("padding_mode", PADDING_MODES, key=key(PAGE, "pmode"), bind=BIND)
        output_padding = 0
    dtype_name = c[4].selectbox("dtype", ("float32", "float64"), key=key(PAGE, "dtype"), bind=BIND)

cfg = ConvConfig(kind=kind, in_channels=int(in_ch), out_channels=int(out_ch), kernel_size=int(k),
                 stride=int(stride), padding=padding if padding in ("same", "valid") else int(padding),
                 dilation=int(dilation), groups=int(groups), bias=bool(bias), padding_mode=padding_mode,
                 output_padding=int(output_padding))
seed = int(st.session_state.get("seed", 0))

with st.expander("Input and kernel", expanded=not classroom.presenting()):
    with panels.explorer_errors():
        x = grid_input(PAGE, dims=dims, channels=cfg.in_channels,
                       presets=examples.INPUTS_2D if dims == 2 else examples.INPUTS_1D,
                       preset_fn=examples.input_preset, random_fn=examples.random_input, seed=seed)
        kernel = kernel_input(PAGE, dims=dims, k=cfg.kernel_size,
                              presets=examples.KERNELS_2D if dims == 2 else examples.KERNELS_1D,
                              preset_fn=examples.kernel_preset,
                              default="edge (Sobel x)" if dims == 2 else "differentiator")


# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def run(cfg, x, kernel, bias_value, seed, dtype_name):
    """Module + trace for one setting (arrays in, so Streamlit can hash them); cached so that moving
    a slider that only selects what to show costs nothing."""
    dtype = getattr(torch, dtype_name)
    kernel = None if kernel is None else torch.from_numpy(kernel)
    bias = None if kernel is None else torch.tensor([bias_value], dtype=dtype)
    module = build_conv(cfg, kernel=kernel, bias=bias, seed=seed, dtype=dtype)
    return trace_conv(module, as_batch(torch.from_numpy(x), dtype))


@st.cache_data(max_entries=64, show_spinner=False)
def stepper_figure(setup, c_out, c_in, block):
    return plain(figures.stepper(run(*setup), 0, c_out, c_in, block=block))


@st.cache_data(max_entries=16, show_spinner=False)
def overview_figure(setup, c_out, c_in, block):
    return plain(figures.overview(run(*setup), 0, c_out, c_in, block))


@st.cache_data(max_entries=64, show_spinner=False)
def channel_figures(setup, c_out):
    trace = run(*setup)
    return (plain(figures.channel_stack(trace, 0, c_out)), plain(figures.group_wiring(trace)),
            plain(figures.kernels(trace)))


def centre_block(trace, point):
    """A click on the whole output map: centre the stepped block on the clicked cell."""
    if point.get("curve_number") != figures.OVERVIEW_CLICKS:
        return
    half = figures.ZOOM[trace.dims] // 2
    h, w = trace.axes
    if trace.dims == 2:
        st.session_state[key(PAGE, "zoom_row")] = int(min(max(0, point["y"] - half), max(0, h.out - 2 * half)))
    st.session_state[key(PAGE, "zoom_column" if trace.dims == 2 else "zoom_position")] = int(
        min(max(0, point["x"] - half), max(0, w.out - 2 * half)))


def block_controls(trace):
    """For an output too large to step through whole: where the stepped block starts, per axis
    that is longer than the block."""
    h, w = trace.axes
    side = figures.ZOOM[trace.dims]
    axes = (("row", h.out), ("column", w.out)) if trace.dims == 2 else (("position", w.out),)
    long = [(name, size) for name, size in axes if size > side]
    start = {}
    for col, (name, size) in zip(st.columns(len(long)), long):
        clamp(key(PAGE, f"zoom_{name}"), 0, size - side)
        # no default value: a click on the overview sets it through session state
        start[name] = col.slider(f"Stepped block: first output {name}", 0, size - side,
                                 key=key(PAGE, f"zoom_{name}"), bind=BIND)
    if trace.dims == 1:
        return figures.zoom_block(trace, (0, start["position"]))
    return figures.zoom_block(trace, (start.get("row", 0), start.get("column", 0)))


with panels.explorer_errors():
    validate(cfg)
    setup = (cfg, x.numpy(), None if kernel is None else kernel.numpy(), float(bias_value), seed, dtype_name)
    trace = run(*setup)

# -- the visual -------------------------------------------------------------------------------------
c1, c2 = st.columns(2)
clamp(key(PAGE, "co"), 0, cfg.out_channels - 1)
c_out = c1.number_input("Output channel to show", 0, cfg.out_channels - 1, 0, key=key(PAGE, "co"), bind=BIND)
_, group_inputs = trace.group_of(int(c_out))
keep_option(key(PAGE, "ci"), group_inputs)
c_in = c2.selectbox("Input channel in the window", group_inputs, key=key(PAGE, "ci"),
                    help="The input channels this output channel reads (its group).")

st.subheader("Transposed convolution: every input cell scatters the kernel" if transposed
             else "The sliding window")
st.caption("Press ▶ or drag the slider: stepping runs in your browser. "
           + ("Each step adds one input cell's scaled kernel into the running sum; overlaps add up."
              if transposed else "Shaded cells are padding; gaps between outlined cells are dilation."))
block = figures.zoom_block(trace)
if figures.zoomed(trace):
    (r0, r1), (c0, c1) = block = block_controls(trace)
    where = f"rows {r0}–{r1 - 1}, columns {c0}–{c1 - 1}" if dims == 2 else f"positions {c0}–{c1 - 1}"
    st.info(f"The output is {' × '.join(map(str, trace.out_spatial))}: too many cells to animate at once, so "
            f"the stepper walks through output {where}. Move the block with the sliders or click a cell of the "
            "whole output below (maps larger than 96 per side show each patch by its largest-magnitude cell).",
            icon=":material/zoom_in:")
panels.chart(stepper_figure(setup, int(c_out), int(c_in), block), key="conv-stepper")
if figures.zoomed(trace):
    panels.chart(overview_figure(setup, int(c_out), int(c_in), block), key="conv-overview",
                 on_click=lambda point: centre_block(trace, point))

if cfg.in_channels > 1 or cfg.out_channels > 1:
    st.subheader("Channels: an output channel sums over the input channels of its group")
    stack, wiring, kernels = channel_figures(setup, int(c_out))
    panels.chart(stack, key="conv-stack")
    c1, c2 = st.columns(2)
    with c1:
        panels.chart(wiring, key="conv-wiring")
    with c2:
        st.markdown("**The weight tensor: one 2D kernel per (output, input) pair of a group**")
        panels.chart(kernels, key="conv-kernels")


# -- math panel -------------------------------------------------------------------------------------
@st.fragment
def math_panel():
    st.subheader("The math at one output position")
    sizes = trace.out_spatial
    cols = st.columns(len(sizes) + 1)
    for d, s in enumerate(sizes):
        clamp(key(PAGE, f"pos{d}"), 0, s - 1)
    pos = tuple(int(cols[d].slider(("row", "column")[d] if len(sizes) == 2 else "position", 0, s - 1, 0,
                                   key=key(PAGE, f"pos{d}"), bind=BIND)) if s > 1 else 0
                for d, s in enumerate(sizes))
    win = trace.window(0, int(c_out), *pos)
    value = float(trace.output.reshape(trace.batch, trace.out_channels, *sizes)[(0, int(c_out)) + pos])
    where = f"output[0, {int(c_out)}, {', '.join(map(str, pos))}]"
    terms = " + ".join(f"({t.x:.4g})·({t.w:.4g})" for t in win.terms[:12])
    more = f" + … ({len(win.terms) - 12} more)" if len(win.terms) > 12 else ""
    worked = f"**{where}** = {terms}{more} + bias ({win.bias:.4g}) = **{win.total:.6g}**"
    revealed = classroom.predict(f"{PAGE}.predict", where, value)
    rows = [{"input index": "padding" if t.input_index is None else str(t.input_index),
             "kernel index": str(t.kernel_index), "x": t.x, "w": t.w,
             "x · w": t.product if revealed else None}
            for t in win.terms]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(400, 38 + 35 * len(rows)))
    if not revealed:
        st.caption("Products and the sum are hidden until you check your prediction.")
        return
    st.markdown(worked)
    diff = abs(value - win.total)
    st.markdown(f"The module computed **{value:.6g}** at that position"
                + (" (the same)." if diff == 0 else f" (difference {diff:.1e}: rounding, as the module adds "
                   "the products in another order)."))
    panels.csv_download(lambda: {
        "input": _table(trace.x), "weight": _table(trace.module.weight),
        "bias": _table(trace.module.bias) if trace.module.bias is not None else pd.DataFrame(),
        "output": _table(trace.output), f"window at {where}": pd.DataFrame(rows)}, "convolution.csv")


def _table(t):
    """A tensor as a long table: one row per element, its index and value."""
    t = t.detach().double()
    idx = [str(tuple(i)) for i in torch.cartesian_prod(*[torch.arange(s) for s in t.shape]).reshape(t.numel(), -1).tolist()]
    return pd.DataFrame({"index": idx, "value": t.flatten().tolist()})


math_panel()
panels.check_badge(trace)

c1, c2 = st.columns(2)
with c1:
    st.subheader("Output size")
    for line in output_size_formula(trace):
        st.markdown(f"`{line}`")
    w = trace.module.weight
    n_params = sum(p.numel() for p in trace.module.parameters())
    panels.shapes_panel([
        ("input", str(tuple(trace.x.shape))),
        ("weight", f"{tuple(w.shape)}" + ("  (in, out/groups, k…)" if transposed else "  (out, in/groups, k…)")),
        ("bias", str(tuple(trace.module.bias.shape)) if trace.module.bias is not None else "none"),
        ("output", str(tuple(trace.output.shape))),
        ("parameters", f"{n_params:,} = {w.numel():,} weights + "
                       f"{0 if trace.module.bias is None else trace.module.bias.numel()} biases"),
    ])
with c2:
    st.subheader("Reproduce it in PyTorch")
    panels.code_box(snippet(cfg, trace), "convolution.py")

st.subheader("Common mistakes")
for m in examples.mistakes():
    panels.mistake_callout(m, lambda t: st.dataframe(pd.DataFrame(t.output[0, 0].numpy()), width="content"))

panels.page_end(PAGE)
