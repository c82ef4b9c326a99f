"""The sidebar every page shares: navigation (from st.navigation) and the global random seed."""
import streamlit as st

from .state import BIND


def global_seed():
    """One seed for every random choice on every page, kept in the URL so a link reproduces it."""
    return st.sidebar.number_input("Random seed", 0, 2**31 - 1, 0, key="seed", bind=BIND,
                                   help="Seeds every random input and weight initialisation "
                                        "(through a private torch.Generator).")
