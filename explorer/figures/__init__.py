"""Plotly figure builders: each takes a trace and returns a go.Figure. No Streamlit here."""
