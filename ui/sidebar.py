"""The sidebar every page shares: navigation (from st.navigation) and the global random seed."""
import streamlit as st

from .state import BIND


def global_seed():
    """One seed for every random choice on every page, kept in the URL so a link reproduces it."""
    return st.sidebar.number_input("Random seed", 0, 2**31 - 1, 0, key="seed", bind=BIND,
                                   help="Seeds every random input and weight initialisation "
                                        "(through a private torch.Generator).")


def export_format():
    """Which file the charts' camera button saves: PNG for slides, SVG for print."""
    from .panels import EXPORT_FORMATS
    return st.sidebar.selectbox("Chart download format", EXPORT_FORMATS, key="imgfmt", bind=BIND,
                                help="The camera button in each chart's toolbar saves this format.")
