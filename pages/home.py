"""Home: one card per layer family, each with a live preview computed by a real module."""
import streamlit as st

from explorer.figures import previews
from ui import panels

CARDS = [
    ("pages/convolution.py", "Convolution", "Slide a kernel over an image or a sequence; scatter it back with a "
     "transposed convolution. Every product, every sum.", previews.convolution),
]


@st.cache_resource(show_spinner=False)
def preview(name):
    """Previews never change: build each once per server, read-only afterwards."""
    return dict((c[1], c[3]) for c in CARDS)[name]()


panels.header("Layer Lab", "Drive **real PyTorch layers** and watch their math. Every number on every page comes "
              "from a real `torch.nn` module and is checked against our own step-by-step recomputation.")
cols = st.columns(3)
for i, (path, title, blurb, _) in enumerate(CARDS):
    with cols[i % 3].container(border=True):
        st.subheader(title)
        st.caption(blurb)
        panels.chart(preview(title), key=f"preview-{title}")
        st.page_link(path, label=f"Open {title} →")
