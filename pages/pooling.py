"""Pooling and upsampling: summarise each window in one number, or invent pixels from their neighbours."""
import pandas as pd
import streamlit as st
import torch

from explorer import ExplorerError, trace_pool, trace_upsample
from explorer.examples import pooling as examples
from explorer.figures import pooling as figures
from explorer.figures.theme import plain
from explorer.pooling import edge_windows, max_unpool, output_size_formula, source_formula
from explorer.pooling_config import (LINEAR_MODES, POOL_KINDS, UPSAMPLE_MODES, PoolConfig, UpsampleConfig,
                                     build_pool, build_upsample, pool_snippet, unpool_code, upsample_snippet)
from ui import classroom, panels
from ui.inputs import as_batch, grid_input
from ui.state import BIND, clamp, keep_option, key

PAGE = "pool"
VIEWS = ("Pooling", "Upsampling")

panels.header("Pooling and upsampling", "**Pooling** summarises every window of the input in one number (its "
              "largest value, its average, or its p-norm), so the map shrinks and no weights are learned. "
              "**Upsampling** runs the other way: every new pixel is read off the input at a source point, "
              "copied from the nearest cell or blended from its neighbours.")
classroom.tour(PAGE, [
    "Press ▶ under the chart: the orange window slides over the notes' 4×4 map and the green outline marks "
    "the cell max pooling keeps. The output is [[5, 8], [4, 9]], exactly as the notes say.",
    "Set **Layer** to AvgPool2d, **kernel_size** 3, **stride** 1 and **padding** 1: grey cells are padding. "
    "In the math panel, toggle **count_include_pad** and watch the divisor of the corner window go from "
    "9 to 4.",
    "Choose the preset **digit 7** (7×7) with kernel 2 and stride 2, then turn on **ceil_mode**: a fourth "
    "row and column of windows appear; they hang past the edge and use only the cells inside.",
    "Set **Layer** to AdaptiveAvgPool2d with output_size 3×3 on the 4×4 map: the window map shows "
    "windows of ⌊i·4/3⌋ … ⌈(i+1)·4/3⌉ − 1, and neighbouring windows share cells.",
    "Switch **Explore** to Upsampling (bilinear): pick an output cell and read its source point, its four "
    "neighbours and their weights; the chart below puts align_corners off and on side by side.",
    "Turn on **Predict before you look** in the math panel and work out the pooled (or upsampled) value "
    "by hand before checking it.",
])
view = st.radio("Explore", VIEWS, horizontal=True, key=key(PAGE, "view"), bind=BIND,
                help="Pooling shrinks a map window by window; upsampling enlarges it.")
seed = int(st.session_state.get("seed", 0))


def _table(t):
    """A tensor as a long table: one row per element, its index and value."""
    t = t.detach().double()
    idx = [str(tuple(i)) for i in torch.cartesian_prod(*[torch.arange(s) for s in t.shape]).reshape(t.numel(), -1).tolist()]
    return pd.DataFrame({"index": idx, "value": t.flatten().tolist()})


def _position_sliders(sizes, prefix, start=0, labels=("row", "column")):
    """One slider per output axis (none for an axis of length 1), kept inside the output."""
    cols = st.columns(len(sizes))
    pos = []
    for d, s in enumerate(sizes):
        clamp(key(PAGE, f"{prefix}{d}"), 0, s - 1)
        label = labels[d] if len(sizes) == 2 else "position"
        pos.append(int(cols[d].slider(f"Output {label}", 0, s - 1, min(start, s - 1), key=key(PAGE, f"{prefix}{d}"),
                                      bind=BIND)) if s > 1 else 0)
    return tuple(pos)


# == pooling ========================================================================================

# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def run_pool(cfg, x, dtype_name):
    return trace_pool(build_pool(cfg), as_batch(torch.from_numpy(x), getattr(torch, dtype_name)))


@st.cache_data(max_entries=64, show_spinner=False)
def pool_figures(setup, c):
    trace = run_pool(*setup)
    unpool = plain(figures.unpool_view(trace, 0, c)) if trace.kind == "max" else None
    return plain(figures.pool_stepper(trace, 0, c)), plain(figures.window_map(trace)), unpool


@st.cache_data(max_entries=32, show_spinner=False)
def compare(x, conv_kernel, seed, dtype_name, c):
    xb = as_batch(torch.from_numpy(x), getattr(torch, dtype_name))
    rows = examples.comparison(xb, conv_kernel, seed)
    fig = plain(figures.comparison_figure(xb, {r.label: r.trace.output for r in rows}, 0, c))
    table = pd.DataFrame([{"layer": r.label, "output shape": str(tuple(r.trace.output.shape)),
                           "learnable parameters": r.parameters,
                           "module vs. our recomputation": f"{r.trace.max_abs_error:.1e}"} for r in rows])
    return fig, table


def pooling_controls():
    with st.expander("Layer", expanded=not classroom.presenting()):
        c = st.columns(6)
        kind = c[0].selectbox("Layer", tuple(POOL_KINDS), index=1, key=key(PAGE, "kind"), bind=BIND)
        probe = PoolConfig(kind=kind)
        channels = c[1].number_input("channels", 1, 4, 1, key=key(PAGE, "ch"), bind=BIND,
                                     help="Pooling works on every channel separately, with the same windows.")
        dtype_name = c[2].selectbox("dtype", ("float32", "float64"), key=key(PAGE, "dtype"), bind=BIND)
        kw = {}
        if probe.adaptive:
            names = ("output height", "output width") if probe.dims == 2 else ("output_size",)
            kw["output_size"] = tuple(
                int(c[3 + d].number_input(name, 1, 16, 2, key=key(PAGE, f"out{d}"), bind=BIND,
                                          help="Adaptive pooling picks the windows to give exactly this size."))
                for d, name in enumerate(names))
        else:
            kw["kernel_size"] = int(c[3].slider("kernel_size", 1, 5, 2, key=key(PAGE, "k"), bind=BIND))
            kw["stride"] = int(c[4].slider("stride", 1, 4, 2, key=key(PAGE, "stride"), bind=BIND,
                                           help="How far the window moves; torch's default is the kernel size."))
            kw["ceil_mode"] = bool(c[5].toggle("ceil_mode", key=key(PAGE, "ceil"), bind=BIND,
                                               help="Round the output size up: keep a last window that hangs "
                                                    "past the edge."))
        c = st.columns(4)
        if probe.family in ("max", "avg") and not probe.adaptive:
            kw["padding"] = int(c[0].slider("padding", 0, 2, 0, key=key(PAGE, "pad"), bind=BIND,
                                            help="At most half the kernel. Max pooling pads with −∞, "
                                                 "average pooling with 0."))
        if probe.family == "max":
            if not probe.adaptive:
                kw["dilation"] = int(c[1].slider("dilation", 1, 3, 1, key=key(PAGE, "dil"), bind=BIND,
                                                 help="Spacing between the cells a window reads."))
            kw["return_indices"] = bool(c[2].toggle("return_indices", key=key(PAGE, "idx"), bind=BIND,
                                                    help="Also return where each max came from (for "
                                                         "MaxUnpool)."))
        if probe.family == "avg" and not probe.adaptive:
            kw["count_include_pad"] = bool(c[1].toggle("count_include_pad", value=True, key=key(PAGE, "cip"),
                                                       bind=BIND, help="Whether padding cells count in the "
                                                                       "divisor (they always add 0)."))
            if probe.dims == 2:
                kw["divisor_override"] = int(c[2].number_input(
                    "divisor_override", 0, 25, 0, key=key(PAGE, "div"), bind=BIND,
                    help="Divide every window's sum by this number instead of its cell count; 0 = not set."))
        if probe.family == "lp":
            kw["norm_type"] = float(c[0].number_input("norm_type (p)", 0.5, 8.0, 2.0, step=0.5,
                                                      key=key(PAGE, "p"), bind=BIND,
                                                      help="y = (Σ x^p)^(1/p): p = 1 sums, large p nears the max."))
    cfg = PoolConfig(kind=kind, **kw)
    with st.expander("Input", expanded=not classroom.presenting()):
        with panels.explorer_errors():
            x = grid_input(PAGE, dims=cfg.dims, channels=int(channels),
                           presets=examples.POOL_INPUTS_2D if cfg.dims == 2 else examples.POOL_INPUTS_1D,
                           preset_fn=examples.input_preset, random_fn=examples.random_input, seed=seed,
                           max_image_size=64)
    return cfg, x, dtype_name


def pooling_view():
    cfg, x, dtype_name = pooling_controls()
    with panels.explorer_errors():
        setup = (cfg, x.numpy(), dtype_name)
        trace = run_pool(*setup)

    clamp(key(PAGE, "c"), 0, trace.channels - 1)
    c = int(st.number_input("Channel to show", 0, trace.channels - 1, 0, key=key(PAGE, "c"), bind=BIND)
            if trace.channels > 1 else 0)
    stepper, window_map, unpool = pool_figures(setup, c)

    st.subheader("The sliding window")
    shown, total = len(stepper["frames"]), trace.out_spatial[0] * (trace.out_spatial[-1] if trace.dims == 2 else 1)
    st.caption("Press ▶ or drag the slider: stepping runs in your browser. "
               + {"max": "The green outline is the cell each window keeps.",
                  "avg": "Each output is the window's sum divided by the count in the title.",
                  "lp": "Each output is the p-norm of its window."}[trace.kind]
               + " Shaded cells are padding."
               + (f" Showing {shown} of the {total} window positions, evenly spread." if shown < total else "")
               + (" The output is large, so it is drawn whole rather than cell by cell."
                  if total > figures.REVEAL_CELLS else ""))
    panels.chart(stepper, key="pool-stepper")
    for axis, indices in edge_windows(trace):
        st.info(f"**ceil_mode edge window{'s' if len(indices) > 1 else ''}** along the {axis}: output "
                f"{', '.join(map(str, indices))} hang{'s' if len(indices) == 1 else ''} past the input and its "
                "padding (light cells). Those taps are ignored; an average divides only by the cells it "
                "really covers.", icon=":material/crop_free:")

    with st.expander("Which input cells each window reads", expanded=trace.adaptive):
        if trace.adaptive:
            st.markdown("Adaptive pooling chooses the windows to give the size you ask for: window *i* spans "
                        "input cells ⌊i·L_in/L_out⌋ to ⌈(i+1)·L_in/L_out⌉ − 1, so windows may differ in length "
                        "and overlap.")
        for line in output_size_formula(trace):
            st.markdown(f"`{line}`")
        panels.chart(window_map, key="pool-window-map")

    pool_math(trace, c, cfg)
    panels.check_badge(trace)

    if unpool is not None and cfg.kind.startswith("MaxPool"):
        st.subheader("What max pooling remembers: the argmax indices, and MaxUnpool")
        st.caption("With return_indices=True, max pooling also returns where each max came from, as a flat "
                   "index row·W + col of its channel. nn.MaxUnpool puts every max back there and fills the "
                   "rest with zeros.")
        panels.chart(unpool, key="pool-unpool")
        try:
            check = max_unpool(trace)
            st.success(f"✓ The real `{unpool_code(cfg)}` gives the same map as putting the maxima back by hand "
                       f"(largest difference {check.max_abs_error:.1e}).")
        except ExplorerError as e:
            st.warning(str(e), icon=":material/info:")

    if trace.dims == 2:
        st.subheader("Three ways to halve the image")
        st.caption("The same input through max pooling, average pooling and a stride-2 convolution with 2×2 "
                   "kernels (depthwise: one kernel per channel). Pooling has nothing to learn; the "
                   "convolution learns its kernel. With every weight ¼ it *is* average pooling; no kernel can "
                   "make it max pooling, which is not a weighted sum.")
        conv_kernel = st.selectbox("Convolution kernel", examples.CONV_KERNELS, key=key(PAGE, "ck"), bind=BIND,
                                   help="Random: the layer's default initialisation from the sidebar seed.")
        with panels.explorer_errors():
            fig, table = compare(x.numpy(), conv_kernel, seed, dtype_name, c)
        panels.chart(fig, key="pool-compare")
        st.dataframe(table, hide_index=True, width="stretch")

    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Shapes")
        rows = [("input", str(tuple(trace.x.shape))), ("output", str(tuple(trace.output.shape)))]
        if trace.indices is not None:
            rows.append(("indices", f"{tuple(trace.indices.shape)} (int64, flat positions in each channel)"))
        rows.append(("parameters", "0: pooling has no weights"))
        panels.shapes_panel(rows)
    with c2:
        st.subheader("Reproduce it in PyTorch")
        panels.code_box(pool_snippet(cfg, trace), "pooling.py")


@st.fragment
def pool_math(trace, c, cfg):
    st.subheader("The math at one output position")
    pos = _position_sliders(trace.out_spatial, "pos")
    win = trace.window(0, c, *pos)
    where = f"output[0, {c}, {', '.join(map(str, pos))}]"
    revealed = classroom.predict(f"{PAGE}.predict", where, win.result)
    rows = []
    for cell in win.cells:
        row = {"input index": "—" if cell.input_index is None else str(cell.input_index),
               "position": str(cell.position) if trace.dims == 2 else str(cell.position[0]), "cell": cell.role,
               "x": "−∞" if cell.value == float("-inf") else "" if cell.value is None else f"{cell.value:.6g}"}
        if trace.kind == "max":
            row["kept"] = ("✓" if cell.input_index == win.winner else "") if revealed else None
        elif trace.kind == "avg":
            row["counted"] = ("yes" if cell.role == "input" or (cell.role == "padding" and win.count == len(
                [k for k in win.cells if k.role != "outside"])) else "no")
        rows.append(row)
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, width="stretch",
                 height=min(400, 38 + 35 * len(rows)))
    if revealed:
        st.markdown(f"`{figures.window_equation(win)}`")
        st.markdown(figures.window_story(trace, win))
        st.markdown(f"The module computed **{float(_plane_value(trace, c, pos)):.6g}** at {where}.")
    else:
        st.caption("The kept cell and the result are hidden until you check your prediction.")
    def shown():  # built only when the learner clicks
        frames = {"settings": pd.DataFrame([{"layer": cfg.code()}]), "input": _table(trace.x),
                  "output": _table(trace.output)}
        if trace.indices is not None:
            frames["indices"] = _table(trace.indices)
        frames[f"window at {where}"] = table
        return frames

    panels.csv_download(shown, "pooling.csv")


def _plane_value(trace, c, pos):
    out = trace.output if trace.output.dim() == trace.dims + 2 else trace.output.unsqueeze(0)
    return out[(0, c) + pos]


# == upsampling =====================================================================================

# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def run_upsample(cfg, x, dtype_name, align_corners=None):
    return trace_upsample(build_upsample(cfg, align_corners), as_batch(torch.from_numpy(x), getattr(torch, dtype_name)))


@st.cache_data(max_entries=64, show_spinner=False)
def upsample_figures(setup, c, pos):
    cfg = setup[0]
    stepper = plain(figures.upsample_figure(run_upsample(*setup), 0, c, pos))
    if cfg.mode not in LINEAR_MODES:
        return stepper, None
    side = figures.align_corners_figure(run_upsample(*setup, align_corners=False),
                                        run_upsample(*setup, align_corners=True), 0, c)
    return stepper, plain(side)


def upsampling_controls():
    with st.expander("Layer", expanded=not classroom.presenting()):
        c = st.columns([1.1, 1, 1, 1.3, 0.9, 1])
        dims = 1 if c[0].radio("Input", ("2D image", "1D signal"), key=key(PAGE, "udims"), bind=BIND,
                               horizontal=True) == "1D signal" else 2
        modes = UPSAMPLE_MODES[dims]
        keep_option(key(PAGE, "mode"), modes)
        mode = c[1].selectbox("mode", modes, index=modes.index("bilinear" if dims == 2 else "linear"),
                              key=key(PAGE, "mode"), bind=BIND,
                              help="nearest copies one cell; linear/bilinear blend 2 (or 2×2) neighbours; "
                                   "bicubic blends 4×4 with a cubic kernel.")
        scale = c[2].number_input("scale_factor", 0.5, 4.0, 2.0, step=0.25, key=key(PAGE, "scale"), bind=BIND,
                                  help="Output size = ⌊input size × scale_factor⌋.")
        align = False
        if mode in LINEAR_MODES:
            align = c[3].toggle("align_corners", key=key(PAGE, "align"), bind=BIND,
                                help="True: the corner pixels of input and output line up. False (the "
                                     "default): the pixel centres do, through (i + 0.5)·in/out − 0.5.")
        channels = c[4].number_input("channels", 1, 3, 1, key=key(PAGE, "uch"), bind=BIND)
        dtype_name = c[5].selectbox("dtype", ("float32", "float64"), key=key(PAGE, "udtype"), bind=BIND)
    cfg = UpsampleConfig(dims=dims, mode=mode, scale_factor=float(scale), align_corners=bool(align))
    with st.expander("Input", expanded=not classroom.presenting()):
        with panels.explorer_errors():
            x = grid_input(f"{PAGE}.up", dims=dims, channels=int(channels),
                           presets=examples.UPSAMPLE_INPUTS_2D if dims == 2 else examples.UPSAMPLE_INPUTS_1D,
                           preset_fn=examples.input_preset, random_fn=examples.random_input, seed=seed,
                           max_size=16, default_size=4, max_image_size=16)
    return cfg, x, dtype_name


def upsampling_view():
    cfg, x, dtype_name = upsampling_controls()
    with panels.explorer_errors():
        setup = (cfg, x.numpy(), dtype_name)
        trace = run_upsample(*setup)

    clamp(key(PAGE, "uc"), 0, trace.channels - 1)
    c = int(st.number_input("Channel to show", 0, trace.channels - 1, 0, key=key(PAGE, "uc"), bind=BIND)
            if trace.channels > 1 else 0)
    st.subheader("Where every output cell reads the input")
    pos = _position_sliders(trace.out_spatial, "upos", start=1)  # cell 0 often just copies a border cell
    stepper, side = upsample_figures(setup, c, pos)
    st.caption("The × marks the source point of the chosen output cell (the sliders above pick it, and the "
               "math panel below explains it); outlined input cells are the neighbours it blends, with their "
               "weights. Press ▶ or drag the chart's slider to visit other cells (in your browser).")
    panels.chart(stepper, key="pool-upsample")

    upsample_math(trace, c, pos)
    panels.check_badge(trace, what="source-point-and-weights recomputation")

    if side is not None:
        st.subheader("align_corners off and on, side by side")
        st.caption("Top: where each output pixel samples the input along the width. align_corners=False maps "
                   "pixel centres ((i + 0.5)·in/out − 0.5, clamped at the border); True pins the first and "
                   "last pixels to the input's corners (i·(in − 1)/(out − 1)).")
        panels.chart(side, key="pool-align")

    c1, c2 = st.columns(2)
    with c1:
        st.subheader("Shapes")
        panels.shapes_panel([("input", str(tuple(trace.x.shape))), ("output", str(tuple(trace.output.shape))),
                             ("parameters", "0: upsampling has no weights")])
    with c2:
        st.subheader("Reproduce it in PyTorch")
        panels.code_box(upsample_snippet(cfg, trace), "upsampling.py")


def upsample_math(trace, c, pos):
    s = trace.sources(0, c, *pos)
    where = f"output[0, {c}, {', '.join(map(str, pos))}]"
    st.subheader(f"The math at {where}")
    for line in source_formula(trace):
        st.markdown(f"`{line}`")
    st.markdown(f"{where} sits at source point **({', '.join(f'{v:.4g}' for v in s.coord)})** of the input.")
    revealed = classroom.predict(f"{PAGE}.upredict", where, s.total)
    names = (("height", "row"), ("width", "column")) if trace.dims == 2 else (("length", "position"),)
    for (axis, cell), taps, weights in zip(names, s.taps, s.weights):
        st.markdown(f"Along the {axis}: input {cell}{'s' if len(taps) > 1 else ''} "
                    + ", ".join(f"{t} (weight {w:.4g})" for t, w in zip(taps, weights)) + ".")
    if len(s.per_cell()) < len(s.neighbours):
        st.caption("Taps past the border read the edge cell again; the table adds up the weights of each cell.")
    if trace.dims == 2 and len(s.neighbours) > 1:
        st.caption("Each cell's weight is its row weight times its column weight.")
    rows = [{"input index": str(nb.input_index), "x": nb.value, "weight": nb.weight,
             "weight · x": nb.product if revealed else None} for nb in s.per_cell()]
    table = pd.DataFrame(rows)
    st.dataframe(table, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(rows)))
    if revealed:
        st.markdown(f"`{figures.sources_equation(s)}`")
        st.markdown(f"The module computed **{float(trace.output[(0, c) + pos]):.6g}** at {where}.")
    else:
        st.caption("The products and the sum are hidden until you check your prediction.")
    panels.csv_download(lambda: {"settings": pd.DataFrame([{"layer": repr(trace.module)}]), "input": _table(trace.x),
                                 "output": _table(trace.output), f"sources of {where}": table}, "upsampling.csv")


# == page ===========================================================================================

if view == "Upsampling":
    upsampling_view()
else:
    pooling_view()


@st.cache_resource(show_spinner=False)
def notes_examples():
    """The notes' examples never change: built once per server, read-only afterwards."""
    return examples.notes_max_pool(), examples.mistakes()


st.subheader("Common mistakes, and one example the notes get right")
worked, mistakes = notes_examples()
panels.confirmed_callout(worked, lambda t: st.dataframe(pd.DataFrame(t.output[0].numpy()), width="content"))
for m in mistakes:
    panels.mistake_callout(m, lambda t: st.dataframe(pd.DataFrame(t.output[0, 0].numpy()), width="content"))

panels.page_end(PAGE)
