"""Home: one card per page, each with a live preview computed by a real module."""
import streamlit as st

from explorer.figures import attention, basic, conv, digits, minilm, normalization, pooling, recurrent, timeseries
from explorer.figures.theme import plain
from ui import panels

# (page file, title, what it shows, preview figure); the trained networks come last, as their
# previews need a trained CNN and the packaged transformer (built once per server)
CARDS = [
    ("pages/convolution.py", "Convolution", "Slide a kernel over an image or a sequence; scatter it back with a "
     "transposed convolution. Every product, every sum.", conv.preview),
    ("pages/pooling.py", "Pooling and upsampling", "Watch a window keep its max or average, where MaxUnpool puts "
     "values back, and how upsampling invents pixels from weighted neighbours.", pooling.preview),
    ("pages/recurrent.py", "Recurrent: RNN, LSTM, GRU", "Gates opening and closing over time, the numbers flowing "
     "through one cell, and why gradients vanish.", recurrent.preview),
    ("pages/attention.py", "Attention", "Who attends to whom: scaled dot-product, multi-head and additive attention, "
     "with masks and the 1/√d scale.", attention.preview),
    ("pages/normalization.py", "Normalization", "Which cells share one mean and variance under BatchNorm, LayerNorm, "
     "InstanceNorm, GroupNorm and RMSNorm, and how running statistics move.", normalization.preview),
    ("pages/building_blocks.py", "Building blocks", "Linear layers as dot products, embeddings as table lookups, "
     "dropout's mask and its 1/(1 − p), and every common activation with its slope.", basic.preview),
    ("pages/time_series.py", "Time-series pipeline", "Follow one window through Conv1d → LSTM → attention → Linear: "
     "shapes at every arrow, which past steps attention picks, predictions vs truth.", timeseries.preview),
    ("pages/digits_cnn.py", "A CNN that reads digits", "A small trained CNN on real handwritten digits: every "
     "feature map, and the exact math behind any cell you click.", digits.preview),
    ("pages/minilm_attention.py", "Transformer heads", "The real attention heads of a pretrained sentence encoder, "
     "recomputed step by step from its own weights.", minilm.preview),
]


@st.cache_resource(show_spinner="Building the preview…")
def preview(title):
    """Previews never change: build each once per server, read-only afterwards."""
    return plain(dict((c[1], c[3]) for c in CARDS)[title]())


panels.header("Layer Lab", "Drive **real PyTorch layers** and watch their math. Every number on every page comes "
              "from a real `torch.nn` module and is checked against our own step-by-step recomputation.")
cols = st.columns(3)
for i, (path, title, blurb, _) in enumerate(CARDS):
    with cols[i % 3].container(border=True):
        st.subheader(title)
        st.caption(blurb)
        panels.chart(preview(title), key=f"preview-{title}")
        st.page_link(path, label=f"Open {title} →")
