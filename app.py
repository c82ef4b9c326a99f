"""Layer Lab: the entry point. Navigation over the pages, and the sidebar they share."""
import streamlit as st
import torch

from ui.classroom import presentation_toggle
from ui.sidebar import export_format, global_seed
from ui.state import capture

# One server process serves every learner: a few threads each keep one heavy trace from starving the rest.
torch.set_num_threads(min(2, torch.get_num_threads()))

st.set_page_config(page_title="Layer Lab", page_icon="🧪", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/convolution.py", title="Convolution", icon=":material/grid_on:", url_path="convolution"),
    st.Page("pages/digits_cnn.py", title="Digits CNN", icon=":material/draw:", url_path="digits_cnn"),
    st.Page("pages/minilm_attention.py", title="Transformer heads", icon=":material/hub:", url_path="minilm_attention"),
]

page = st.navigation(PAGES)
capture()  # before any widget reads the URL
global_seed()
presentation_toggle()
export_format()
page.run()
