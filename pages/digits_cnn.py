"""A real trained CNN reading handwritten digits: every feature map, and the math behind any cell."""
import pandas as pd
import streamlit as st

from explorer import digits
from explorer.examples.images import load_image
from explorer.figures import digits as figures
from explorer.figures import conv as conv_figures
from explorer.snippets import module_snippet, tensor_literal
from ui import classroom, panels
from ui.state import BIND, clamp, key

PAGE = "digits"
STAGES = ("conv1", "pool1", "conv2", "pool2")

panels.header("A CNN that reads digits", "Toy layers teach the mechanics; here the same layers have **learned**. "
              "A small network of real `torch.nn` modules, trained on the 8×8 handwritten digits that ship "
              "with scikit-learn, turns an image into ten class probabilities. Pick any cell of any feature "
              "map to see the exact window and weights that produced it.")
classroom.tour(PAGE, [
    "Look at the first row of feature maps: each conv1 channel lights up on a different kind of stroke "
    "(compare with its learned filter at the bottom of the page).",
    "Move **Test image** through a few digits and watch the class probabilities: the tallest bar is the "
    "network's answer.",
    "Choose stage **conv2**, a channel and a cell: the math panel lists all 72 products (8 input channels × "
    "3×3 taps) that add up to that value before the ReLU.",
    "Choose stage **pool1**: the value is just the largest of four cells of the ReLU output.",
    "Compare the filters **before** and **after** training: training turned random noise into stroke "
    "detectors.",
])


@st.cache_resource(show_spinner=False, max_entries=4 * (digits.EPOCHS + 1))
def after_epochs(size, seed, epochs):
    """The network after `epochs` epochs, trained once per server and read-only afterwards.

    Cached epoch by epoch so that the page can show a progress bar between the calls."""
    if epochs == 0:
        return digits.start(size, seed)
    return digits.train_epoch(after_epochs(size, seed, epochs - 1))


@st.cache_resource(show_spinner=False, max_entries=4)
def dataset(size, seed):
    return digits.load_data(size, seed=seed)


with st.expander("Network and image", expanded=not classroom.presenting()):
    c1, c2, c3 = st.columns(3)
    size = c1.radio("Image size", digits.SIZES, format_func=lambda s: f"{s}×{s}", key=key(PAGE, "size"),
                    bind=BIND, horizontal=True, help="16×16 repeats every pixel of the 8×8 originals 2×2.")
    source = c2.radio("Digit", ("test image", "upload"), key=key(PAGE, "src"), bind=BIND, horizontal=True,
                      help="Test images were held out from training.")
    seed = int(st.session_state.get("seed", 0))
    data = dataset(size, seed)
    with c3:
        if source == "test image":
            index = st.slider("Test image", 0, len(data.test_y) - 1, 0, key=key(PAGE, "idx"), bind=BIND)
            image, label = data.test_x[index, 0], int(data.test_y[index])
        else:
            invert = st.toggle("Dark strokes on light paper (invert)", value=True, key=key(PAGE, "invert"),
                               bind=BIND)
            up = st.file_uploader("PNG or JPEG of one digit", type=["png", "jpg", "jpeg"], key=key(PAGE, "upload"))
            label = None
            image = data.test_x[0, 0]
            if up is None:
                st.info("Upload an image of a digit; until then the first test image is shown.")
            else:
                with panels.explorer_errors():
                    image = digits.prepare_upload(load_image(up.getvalue(), size, 1), size, invert)[0]

bar = st.progress(0.0, text="Training the CNN…")
for epoch in range(digits.EPOCHS + 1):
    trained = after_epochs(size, seed, epoch)
    if trained.losses:
        bar.progress(epoch / digits.EPOCHS, text=f"Training the CNN: epoch {epoch} of {digits.EPOCHS}, "
                                                  f"loss {trained.losses[-1]:.3f}")
bar.empty()
model = trained.model
probs = digits.predict(model, image)
acts = digits.activations(model, image)

guess = int(probs.argmax())
st.markdown(f"**Prediction: {guess}** with probability {float(probs[guess]):.1%}"
            + (f" (the true label is {label})." if label is not None else ".")
            + f" Held-out accuracy of this network: **{trained.test_accuracy:.1%}** on {len(data.test_y)} images.")

# -- choose a cell ------------------------------------------------------------------------------------
c = st.columns(4)
stage = c[0].selectbox("Stage", STAGES, key=key(PAGE, "stage"), bind=BIND)
with panels.explorer_errors():
    trace = digits.stage_trace(model, image, stage)
channels, (rows, cols) = trace.output.shape[1], trace.output.shape[2:]
for name, top in (("ch", channels - 1), ("row", rows - 1), ("col", cols - 1)):
    clamp(key(PAGE, name), 0, top)
channel = c[1].number_input("Channel", 0, channels - 1, 0, key=key(PAGE, "ch"), bind=BIND)
row = c[2].slider("Row", 0, rows - 1, min(rows // 2, rows - 1), key=key(PAGE, "row"), bind=BIND)
col = c[3].slider("Column", 0, cols - 1, min(cols // 2, cols - 1), key=key(PAGE, "col"), bind=BIND)
cell = (stage, int(channel), int(row), int(col))

st.subheader("The whole network at a glance")
st.caption("Top to bottom: the input, every channel after conv1+ReLU, after pooling, after conv2+ReLU, after "
           "pooling, and the ten class probabilities. **Click any cell** to see its math below; the green "
           "square marks the selected one.")


def select_cell(point):
    """A click on a feature map selects that stage, channel and cell."""
    stage_, ch, r, c_ = point["customdata"]
    st.session_state.update({key(PAGE, "stage"): stage_, key(PAGE, "ch"): ch, key(PAGE, "row"): r,
                             key(PAGE, "col"): c_})


panels.chart(figures.network(acts, probs, cell), key="digits-network", on_click=select_cell)

# -- the math of the selected cell ---------------------------------------------------------------------
st.subheader(f"The math behind {stage}[{channel}, {row}, {col}]")
inside = dict((name, out) for name, _, out in acts)
if stage.startswith("conv"):
    win = trace.window(0, int(channel), int(row), int(col))
    relu = inside["relu" + stage[-1]][0, int(channel), int(row), int(col)]
    shown = float(relu)
    revealed = classroom.predict(f"{PAGE}.predict", f"{stage} after ReLU at ({row}, {col})", shown)
    table = pd.DataFrame([{"input index": str(t.input_index) if t.input_index else "padding",
                           "kernel index": str(t.kernel_index), "x": t.x, "w": t.w,
                           "x · w": t.product if revealed else None} for t in win.terms])
    st.dataframe(table, hide_index=True, width="stretch", height=300)
    if revealed:
        st.markdown(f"Sum of {len(win.terms)} products + bias ({win.bias:.4g}) = **{win.total:.6g}**; "
                    f"ReLU keeps max(0, {win.total:.4g}) = **{max(0.0, win.total):.6g}**, and the network's "
                    f"own activation there is **{shown:.6g}**.")
    with st.expander("The kernels of this channel and the window sliding over its input"):
        panels.chart(conv_figures.stepper(trace, 0, int(channel)), key="digits-stepper")
else:
    win = trace.window(0, int(channel), int(row), int(col))
    revealed = classroom.predict(f"{PAGE}.predict", f"{stage} at ({row}, {col})", win.result)
    table = pd.DataFrame([{"input index": str(cl.input_index), "value": cl.value} for cl in win.cells])
    st.dataframe(table, hide_index=True, width="content")
    if revealed:
        st.markdown(f"Max pooling keeps the largest of {len(win.cells)} values: **{win.result:.6g}** "
                    f"(from cell {win.winner}).")
panels.check_badge(trace, what=f"step-by-step recomputation of {stage}")

c1, c2 = st.columns(2)
with c1:
    st.subheader("Learned filters: before and after training")
    panels.chart(figures.filters(trained), key="digits-filters")
with c2:
    panels.chart(figures.losses(trained), key="digits-loss")

st.subheader("Reproduce this stage in PyTorch")
module = getattr(model, stage)
constructor = (f"nn.Conv2d({module.in_channels}, {module.out_channels}, 3, padding=1)" if stage.startswith("conv")
               else "nn.MaxPool2d(2)")
panels.code_box(module_snippet(constructor, module, extra_lines=[f"x = {tensor_literal(trace.x)}", "y = layer(x)"],
                               prints=[f"y[0, {int(channel)}, {int(row)}, {int(col)}]"]), "digits_stage.py")
panels.csv_download({"probabilities": pd.DataFrame({"class": range(10), "probability": probs.tolist()}),
                     f"{stage} channel {channel}": pd.DataFrame(trace.output[0, int(channel)].double().numpy())},
                    "digits.csv")
panels.page_end(PAGE)
