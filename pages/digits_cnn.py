"""A real trained CNN reading handwritten digits: every feature map, and the math behind any cell."""
import pandas as pd
import streamlit as st
import torch

from explorer import digits, worker
from explorer.examples.images import load_image
from explorer.figures import conv as conv_figures
from explorer.figures import digits as figures
from explorer.figures import pooling as pool_figures
from explorer.figures.theme import plain
from ui import classroom, panels
from ui.state import BIND, clamp, keep_option, key

PAGE = "digits"
SIZE_LABELS = {"8×8": 8, "16×16": 16}
EVERY, WRONG = "every test image", "only the ones it reads wrong"

panels.header("A CNN that reads digits", "Toy layers teach the mechanics; here the same layers have **learned**. "
              "A small network of real `torch.nn` modules, trained here on the 8×8 handwritten digits that ship "
              "with scikit-learn, turns an image into ten class probabilities. Click any cell of any feature "
              "map to see the exact window and weights that produced it.")
classroom.tour(PAGE, [
    "Read the network left to right: the digit, the 8 feature maps of conv1 after ReLU, pooled, the 16 of "
    "conv2, pooled again, and the ten class probabilities. The tallest bar is the network's answer.",
    "Move **Test image** through a few digits. Which conv1 channels light up for a 0 and stay dark for a 1? "
    "Compare them with the learned filters further down.",
    "**Click a cell** of a conv2 map: its 3×3 window lights up on all 8 pooled maps it reads, and the math "
    "panel lists its 72 products (8 channels × 9 weights) plus the bias, then the ReLU.",
    "Click a cell of a pooled map: its value is just the largest of the four cells outlined in the map "
    "before it. Turn on **Predict before you look** and say which one wins before checking.",
    "Choose **only the ones it reads wrong**: look at the probabilities. Is the network unsure, or "
    "confidently wrong? The confusion matrix shows which digits it mixes up.",
])
status = st.empty()  # the training progress bar, above the controls so it shows in presentation mode too


@st.cache_resource(show_spinner=False, max_entries=4 * (digits.EPOCHS + 1))
def after_epochs(config, epochs):
    """The network after `epochs` epochs, trained once per server and read-only afterwards.

    Cached epoch by epoch so that the page can move a progress bar between the calls."""
    if epochs == 0:
        return digits.start(config)
    return worker.run(digits.train_epoch, after_epochs(config, epochs - 1))


def trained_network(config):
    """The trained network; the first time for this configuration, a progress bar moves epoch by epoch."""
    for epoch in range(config.epochs + 1):
        trained = after_epochs(config, epoch)
        if trained.losses:
            status.progress(epoch / config.epochs, text=f"Training the CNN: epoch {epoch} of {config.epochs}, "
                                                        f"loss {trained.losses[-1]:.3f}")
    status.empty()
    return trained


@st.cache_resource(show_spinner=False, max_entries=4)
def evaluation(config):
    """The test images the network misreads, and the confusion matrix; read-only."""
    model = after_epochs(config, config.epochs).model
    data_ = digits.load_data(config.size)
    return digits.misread(model, data_), digits.confusion(model, data_)


def model_of(config):
    return after_epochs(config, config.epochs).model


# Shared and only read: a st.cache_data hit would unpickle every tensor of the trace, at each call.
@st.cache_resource(max_entries=64, show_spinner=False)
def stage_view(config, image, stage):
    return digits.stage_trace(model_of(config), torch.from_numpy(image), stage)


@st.cache_data(max_entries=64, show_spinner=False)
def stepper_figure(config, image, stage, channel, c_in):
    """The Convolution or Pooling page's own stepper over every position of this stage and channel."""
    trace = stage_view(config, image, stage)
    positions = trace.output.shape[2] * trace.output.shape[3]
    if stage.startswith("conv"):
        return plain(conv_figures.stepper(trace, 0, channel, c_in, max_frames=positions))
    return plain(pool_figures.pool_stepper(trace, 0, channel, max_frames=positions))


@st.cache_data(max_entries=64, show_spinner=False)
def network_figure(config, image, selected, window):
    model = model_of(config)
    x = torch.from_numpy(image)
    return plain(figures.network(digits.activations(model, x), digits.predict(model, x), selected, window))


@st.cache_data(max_entries=8, show_spinner=False)
def training_figures(config):
    trained = after_epochs(config, config.epochs)
    return (plain(figures.filters(trained)), plain(figures.losses(trained)),
            plain(figures.confusion(evaluation(config)[1])))


# -- controls: the network and the digit ---------------------------------------------------------
seed = int(st.session_state.get("seed", 0))
with st.expander("Network and digit", expanded=not classroom.presenting()):
    c1, c2, c3 = st.columns([1, 1, 2])
    size_label = c1.radio("Image size", tuple(SIZE_LABELS), key=key(PAGE, "size"), bind=BIND, horizontal=True,
                          help="16×16 repeats every pixel of the 8×8 originals 2×2; the network is trained anew.")
    config = digits.TrainConfig(size=SIZE_LABELS[size_label], seed=seed)
    data = digits.load_data(config.size)
    trained = trained_network(config)
    wrong, counts = evaluation(config)
    source = c2.radio("Digit", ("test image", "upload"), key=key(PAGE, "src"), bind=BIND, horizontal=True,
                      help="Test images were held out: the network never trained on them.")
    label = None
    with c3:
        if source == "test image":
            which = st.radio("Show", (EVERY, WRONG), key=key(PAGE, "which"), bind=BIND, horizontal=True)
            if which == WRONG and wrong:
                options = [f"#{i}: a {truth} read as {answer}" for i, truth, answer in wrong]
                keep_option(key(PAGE, "wrong"), options)
                choice = st.selectbox(f"Misread test image ({len(wrong)} of {len(data.test_y)})", options,
                                      key=key(PAGE, "wrong"), bind=BIND)
                index = wrong[options.index(choice)][0]
            else:
                if which == WRONG:
                    st.info("This network reads every test image right.")
                index = st.slider("Test image", 0, len(data.test_y) - 1, 0, key=key(PAGE, "idx"), bind=BIND)
            image, label = data.test_x[index], int(data.test_y[index])
        else:
            invert = st.toggle("Dark ink on light paper (invert it)", value=True, key=key(PAGE, "invert"),
                               bind=BIND, help="The training digits are bright strokes on black.")
            up = st.file_uploader("PNG or JPEG of one digit", type=["png", "jpg", "jpeg"], key=key(PAGE, "upload"))
            image = data.test_x[0]
            if up is None:
                st.info("Upload a picture of one digit; until then the first test image is shown.")
            else:
                with panels.explorer_errors():
                    image = digits.prepare_upload(load_image(up.getvalue(), config.size, 1), config.size, invert)

image_np = image.numpy()
model = trained.model
acts = digits.activations(model, image)
inside = dict((name, out) for name, _, out in acts)
probs = digits.predict(model, image)
guess = int(probs.argmax())
verdict = "" if label is None else (" — right." if guess == label else f" — wrong: the true label is **{label}**.")
st.markdown(f"The network reads **{guess}** with probability {float(probs[guess]):.1%}{verdict} "
            f"It was trained for {trained.epochs_done} epochs (seed {seed}) and reads "
            f"**{trained.test_accuracy:.1%}** of the {len(data.test_y)} held-out test images right.")

# -- the selected cell ------------------------------------------------------------------------------
with st.expander("Selected cell (or click one in the network)", expanded=not classroom.presenting()):
    c = st.columns(5)
    stage = c[0].selectbox("Stage", digits.TRACED, index=2, key=key(PAGE, "stage"), bind=BIND)
    shape = inside[stage].shape                                                   # (1, C, H, W)
    for name, top in (("ch", shape[1] - 1), ("row", shape[2] - 1), ("col", shape[3] - 1)):
        clamp(key(PAGE, name), 0, top)
    channel = int(c[1].number_input("Channel", 0, shape[1] - 1, 0, key=key(PAGE, "ch"), bind=BIND))
    row = int(c[2].slider("Row", 0, shape[2] - 1, shape[2] // 2, key=key(PAGE, "row"), bind=BIND))
    col = int(c[3].slider("Column", 0, shape[3] - 1, shape[3] // 2, key=key(PAGE, "col"), bind=BIND))

with panels.explorer_errors():
    trace = stage_view(config, image_np, stage)
    sources, cells = digits.window_cells(trace, channel, row, col)
keep_option(key(PAGE, "cin"), sources)
c_in = c[4].selectbox("Input channel in the stepper", sources, key=key(PAGE, "cin"), bind=BIND,
                      disabled=len(sources) == 1, help="A conv2 cell reads all 8 pooled maps; the stepper shows one.")


def select_cell(point):
    """A click on a feature map selects that stage, channel and cell."""
    custom = point.get("customdata")
    if isinstance(custom, list) and len(custom) >= 4 and custom[0] in digits.TRACED:
        st.session_state.update({key(PAGE, "stage"): custom[0], key(PAGE, "ch"): int(custom[1]),
                                 key(PAGE, "row"): int(custom[2]), key(PAGE, "col"): int(custom[3])})


st.subheader("The whole network at a glance")
st.caption("Each small map is one channel; brighter means a larger activation (one colour scale per stage). "
           "**Click any cell** to see its math below: the orange square is the selected cell, the thinner "
           "orange squares the window it reads in the stage before.")
panels.chart(network_figure(config, image_np, (stage, channel, row, col),
                            (digits.source_stage(stage), tuple(sources), tuple(cells))),
             key="digits-network", on_click=select_cell)

# -- the math of the selected cell -----------------------------------------------------------------
is_conv = stage.startswith("conv")
drawn = figures.DRAWN[stage]
value = float(inside[drawn][0, channel, row, col])
where = f"{stage}[{channel}, {row}, {col}]"
st.subheader(f"The math behind {where}" + (" and its ReLU" if is_conv else ""))
win = trace.window(0, channel, row, col)
question = f"{where} after the ReLU" if is_conv else where
left, right = st.columns([2, 3])
with left:
    revealed = classroom.predict(f"{PAGE}.predict", question, value)
    if not revealed:
        st.caption("The products and the result are hidden until you check your prediction.")
    elif is_conv:
        terms = " + ".join(f"({t.x:.3g})·({t.w:.3g})" for t in win.terms[:6])
        more = f" + … ({len(win.terms) - 6} more)" if len(win.terms) > 6 else ""
        st.markdown(f"**{where}** = {terms}{more} + bias ({win.bias:.4g}) = **{win.total:.6g}**")
        st.markdown(f"ReLU keeps max(0, {win.total:.4g}) = **{max(0.0, win.total):.6g}**; the network's own "
                    f"activation there is **{value:.6g}**.")
    else:
        st.markdown(f"{pool_figures.window_equation(win)}; the network's own activation there is **{value:.6g}**.")
if is_conv:
    rows = [{"input": "padding" if t.input_index is None else f"{digits.source_stage(stage)}{list(t.input_index)}",
             "weight": f"w{list(t.kernel_index)}", "x": t.x, "w": t.w,
             "x · w": t.product if revealed else None} for t in win.terms]
else:
    rows = [{"input": f"{digits.source_stage(stage)}{list(cell.input_index)}", "value": cell.value,
             "kept": ("✓" if cell.input_index == win.winner else "") if revealed else None}
            for cell in win.cells]
right.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(380, 38 + 35 * len(rows)))
frame = row * shape[3] + col
fig = figures.start_at(stepper_figure(config, image_np, stage, channel, int(c_in)), frame)
panels.chart(fig, key="digits-stepper")
st.caption("The " + ("Convolution" if is_conv else "Pooling") + " page's stepper, started at this cell: "
           "press ▶ or drag the slider to watch the window slide (in your browser)."
           + (" Its output is the convolution before the ReLU." if is_conv else ""))
panels.check_badge(trace, what=f"step-by-step recomputation of {stage}")

# -- what training did ------------------------------------------------------------------------------
filters_fig, loss_fig, confusion_fig = training_figures(config)
st.subheader("Learned filters: before and after training")
st.caption("conv1's eight 3×3 kernels (red positive, blue negative). Training turned random numbers into "
           "stroke and edge detectors; compare a filter with the feature map it makes above.")
panels.chart(filters_fig, key="digits-filters")
c1, c2 = st.columns(2)
with c1:
    panels.chart(loss_fig, key="digits-loss")
with c2:
    panels.chart(confusion_fig, key="digits-confusion")

with st.expander("Shapes and parameters"):
    table = digits.layer_table(model, acts)
    total = sum(int(p.numel()) for p in model.parameters())
    panels.shapes_panel([(f"{name}: {module}", f"{shape_} · {params} parameters")
                         for name, module, shape_, params in table] + [("total parameters", f"{total:,}")])

st.subheader("Reproduce this cell in PyTorch")
st.caption(f"The trained `{stage}` module with its real weights, fed the exact activation it reads here.")
panels.code_box(digits.stage_snippet(model, stage, trace, channel, row, col), "digits_cnn.py")
panels.csv_download({"input image": pd.DataFrame(image_np[0]),
                     "class probabilities": pd.DataFrame({"digit": range(10), "probability": probs.tolist()}),
                     f"{drawn} channel {channel} (as drawn)": pd.DataFrame(inside[drawn][0, channel].double().numpy()),
                     f"window of {where}": pd.DataFrame(rows)}, "digits_cnn.csv")
panels.page_end(PAGE)
