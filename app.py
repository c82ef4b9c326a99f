"""Layer Lab: the entry point. Navigation over the pages, and the sidebar they share."""
import streamlit as st
import torch

from explorer import worker
from ui.classroom import presentation_toggle
from ui.sidebar import export_format, global_seed
from ui.state import capture

# One server process serves every learner, each session in its own thread: one torch thread per
# operation keeps a heavy trace from starving the rest (two contend badly on a loaded 2-core machine).
torch.set_num_threads(1)
# Training demos run in their own process; started now, so the first learner to train does not wait for it.
worker.start()

st.set_page_config(page_title="Layer Lab", page_icon="🧪", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/convolution.py", title="Convolution", icon=":material/grid_on:", url_path="convolution"),
    st.Page("pages/digits_cnn.py", title="Digits CNN", icon=":material/draw:", url_path="digits_cnn"),
    st.Page("pages/minilm_attention.py", title="Transformer heads", icon=":material/hub:", url_path="minilm_attention"),
    st.Page("pages/pooling.py", title="Pooling and upsampling", icon=":material/filter_center_focus:", url_path="pooling"),
    st.Page("pages/building_blocks.py", title="Building blocks", icon=":material/widgets:", url_path="building_blocks"),
    st.Page("pages/time_series.py", title="Time-series pipeline", icon=":material/timeline:", url_path="time_series"),
    st.Page("pages/attention.py", title="Attention", icon=":material/visibility:", url_path="attention"),
    st.Page("pages/normalization.py", title="Normalization", icon=":material/equalizer:", url_path="normalization"),
    st.Page("pages/recurrent.py", title="Recurrent: RNN, LSTM, GRU", icon=":material/replay:", url_path="recurrent"),
]

page = st.navigation(PAGES)
capture()  # before any widget reads the URL
global_seed()
presentation_toggle()
export_format()
page.run()
