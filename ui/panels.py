"""The panels every page shows: header, error boundary, check badge, shapes, code, mistakes."""
from contextlib import contextmanager

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer import ExplorerError
from explorer.figures import margins
from explorer.figures.theme import TEMPLATE, plain

from . import state

_NOTE_SLOT = "_url_note_slot"

EXPORT_FORMATS = ("png", "svg")


def header(title, what):
    """Title and one-line explanation; every page starts here (and ends with `page_end`)."""
    _run_through_app()
    st.title(title)
    st.markdown(what)
    st.session_state[_NOTE_SLOT] = st.empty()


def page_end(page):
    """Report link parameters the page could not use, in the slot under the title."""
    state.url_report(page, st.session_state.pop(_NOTE_SLOT))


def _run_through_app():
    """Make sure a page runs inside app.py's navigation, sidebar and settings.

    A fresh server that sees a pages/ folder runs the very first deep link (/convolution) as a
    legacy multipage app, skipping app.py, until some run has called st.navigation. Clearing the
    flag and rerunning sends that first visitor through app.py like everyone else.
    """
    from streamlit.runtime.pages_manager import PagesManager
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


@contextmanager
def explorer_errors():
    """Show an ExplorerError as a message and stop the page there: a learner never sees a traceback."""
    try:
        yield
    except ExplorerError as e:
        st.error(str(e), icon=":material/warning:")
        st.stop()


class _Finished(go.Figure):
    """A finished figure spec that st.plotly_chart sends as is (with our TEMPLATE). Given a dict or a
    go.Figure made from one, plotly validates every trace and animation frame again on every rerun,
    which cost more than all the rest of a page; our figures were validated when they were built."""

    def __new__(cls, spec):
        obj = object.__new__(cls)
        obj._spec = spec
        return obj

    def __init__(self, spec):  # noqa: D107 (nothing to set up: the spec is kept by __new__)
        pass

    def to_dict(self):
        spec = margins.reserve(self._spec)   # cached: not modified
        return {**spec, "layout": {**spec.get("layout", {}), "template": TEMPLATE}}


def chart(fig, key, on_click=None):
    """A plotly figure (a go.Figure, or the plain dict of theme.plain, which is what to cache);
    the toolbar's camera saves it in the format chosen in the sidebar.

    With `on_click(point)`, clicking a point of the figure calls it (before the rerun, so it may set
    widget values) with the clicked point's dict (x, y, customdata, ...).
    """
    if isinstance(fig, go.Figure):
        # Figures come from shared caches and are only read: their dict is made once, not at each
        # rerun (a deep copy of every array, 5-10% of a page's rerun).
        memo = fig.__dict__      # not getattr: asking a Built figure for a missing name builds its tree
        if memo.get("_plain_spec") is None:
            memo["_plain_spec"] = plain(fig)
        fig = memo["_plain_spec"]
    fig = _Finished(fig)
    fmt = st.session_state.get("imgfmt", "png")
    # theme=None: Streamlit's chart theme restyles every figure in the browser at each draw, which
    # made the attention page's redraw twice as slow (2.3 s -> 1.1 s median without it, measured).
    config = {"displaylogo": False, "toImageButtonOptions": {"format": fmt, "scale": 2, "filename": key}}
    if on_click is None:
        st.plotly_chart(fig, key=key, config=config, width="stretch", theme=None)
        return

    def clicked():
        points = st.session_state[key].selection.points
        if points:
            on_click(points[0])

    st.plotly_chart(fig, key=key, config=config, width="stretch", on_select=clicked, selection_mode="points", theme=None)


def check_badge(trace, what="step-by-step recomputation"):
    """The module-vs-manual check: the reason to trust every number on the page."""
    err = trace.max_abs_error
    tol = 1e-4 if trace.output.dtype.itemsize == 4 else 1e-9
    if err <= tol:
        st.success(f"✓ The real `{type(trace.module).__name__}` and our {what} agree "
                   f"(largest difference {err:.1e}, {trace.output.dtype} rounding).")
    else:
        st.error(f"✗ The module and our {what} differ by {err:.3g}: please report this configuration.")


def shapes_panel(rows):
    """A two-column table of shapes and counts: rows are (what, value) pairs."""
    st.table(pd.DataFrame(rows, columns=["", "value"]).set_index(""))


MAX_SHOWN_CODE = 20_000  # beyond this, long lines (large tensors) are shortened on screen
MAX_SHOWN_LINE = 400


def code_box(code, filename):
    """Runnable PyTorch source, with the copy button of st.code and a .py download.

    A line holding a large tensor would cost the browser megabytes of highlighted text: on screen
    it is shortened, and the downloaded file (which runs as is) keeps every value.
    """
    lines = code.splitlines()
    long = len(code) > MAX_SHOWN_CODE
    shown = "\n".join(line if not long or len(line) <= MAX_SHOWN_LINE
                      else line[:MAX_SHOWN_LINE - 40] + " … " + line[-30:] for line in lines)
    st.code(shown, language="python")
    if long:
        st.caption("Long values are shortened on screen; download the file to run it with every value.")
    # a callable: the file is made when clicked, not stored and fetched on every rerun
    st.download_button("Download as .py", lambda: code, file_name=filename, mime="text/x-python",
                       key=f"dl-{filename}", on_click="ignore")


def csv_download(frames, filename, label="Download what is shown (CSV)"):
    """One CSV of several tables, each introduced by a `# name` line.

    `frames` is a dict {name: DataFrame}, or a function returning one: the text is then built only
    when the learner clicks, so a large input costs nothing on every rerun.
    """
    def text():
        tables = frames() if callable(frames) else frames
        return "\n".join(f"# {name}\n{df.to_csv(index=True)}" for name, df in tables.items())

    st.download_button(label, text, file_name=filename, mime="text/csv", key=f"csv-{filename}",
                       on_click="ignore")


def confirmed_callout(example, show_output):
    """A seed-notes example that is right: the claim, and the real module's numbers bearing it out."""
    with st.expander(f"The notes get it right: {example.title}"):
        st.markdown(f"**The notes say:** {example.claim}")
        st.markdown(f"**What PyTorch computes:** {example.check}")
        show_output(example.trace)
        st.code(example.code, language="python")


def mistake_callout(mistake, show_output):
    """A seed-notes claim next to what the real module computes, and the step that goes wrong."""
    with st.expander(f"Common mistake: {mistake.title}"):
        st.markdown(f"**The notes say:** {mistake.claim}")
        st.markdown(f"**What goes wrong:** {mistake.what_goes_wrong}")
        st.markdown("**What PyTorch computes:**")
        show_output(mistake.trace)
        st.code(mistake.code, language="python")
