"""Streamlit page parts shared by every page: written once here, called by the pages."""
