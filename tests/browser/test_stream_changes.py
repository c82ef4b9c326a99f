"""Controls changed the way a browser changes them, over Streamlit's websocket: every widget's
value goes back with each rerun, and a widget whose range moved is a new widget to Streamlit."""
import random

import pytest

from harness import SERVER_LOG
from stream_session import StreamSession, random_change

PAGES = ("attention", "building_blocks", "convolution", "digits_cnn", "minilm_attention", "normalization",
         "pooling", "recurrent", "time_series")


def widget(session, key):
    return next(w for w in session.widgets.values() if w.key == key)


def test_a_step_beyond_a_shortened_series_is_pulled_back_into_range(app):
    with StreamSession(app, "time_series") as s:
        s.change(widget(s, "ts.len"), 600)
        s.change(widget(s, "ts.t"), 500)
        s.change(widget(s, "ts.window"), 16)        # the step's range moves: a new widget to Streamlit
        assert s.values[widget(s, "ts.t").id] == 500
        s.change(widget(s, "ts.len"), 152)          # the series ends before step 500 now
        t = widget(s, "ts.t")
        lo, hi, _, _ = t.choices
        assert hi == 151 and s.values[t.id] == hi


def test_moving_the_prediction_to_trace_reruns_only_what_follows_it(app):
    with StreamSession(app, "time_series") as s:
        step = widget(s, "ts.t")
        assert step.fragment != ""
        lo, hi, _, _ = step.choices
        s.change(step, lo if step.default != lo else hi)
        drawn = {w.key for w in s.drawn}
        assert {"ts.t", "ts.k", "ts.stage"} <= drawn               # the step and the math panel below it
        assert drawn.isdisjoint({"ts.window", "ts.hidden", "ts.steps", "ts.lr", "ts.len"})   # training, series


def test_a_range_that_moves_leaves_the_server_log_clean(app):
    with StreamSession(app, "convolution") as s:     # the preset input is 7x7, the kernel 3x3
        row = widget(s, "conv.pos0")
        assert row.choices[1] == 7 - 3
        s.change(row, 4)
        s.change(widget(s, "conv.k"), 5)            # 7 - 5 + 1 = 3 rows now: clamp pulls row 4 back to 2
        row = widget(s, "conv.pos0")
        assert row.choices[1] == 2 and s.values[row.id] == 2
    # a deliberate pattern (ui.state.clamp), which Streamlit reports with a stack trace by default
    assert "set via the Session State API" not in SERVER_LOG.read_text()


@pytest.mark.parametrize("page", PAGES)
def test_random_changes_never_raise(app, page):
    rng = random.Random(f"{page}-changes")
    with StreamSession(app, page) as s:
        for _ in range(15):
            w, value = random_change(s, rng)
            s.change(w, value)         # raises on an exception shown in the page
