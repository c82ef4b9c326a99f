"""Widget keys that live in the URL, so a link reproduces the view, and the check of what came in.

Every page widget is created with `bind=BIND` and a key from `key(page, name)`. Streamlit itself
refuses a bound value that the widget cannot take (out of range, not an option, not a number)
and falls back to the default; `url_report` tells the learner that it happened.
"""
import math

import streamlit as st

BIND = "query-params"
GLOBAL_KEYS = ("seed", "present", "imgfmt")
_RAW = "_url_at_start"
_RANGE = "_range_of."   # + widget key: the range clamp() last drew it with
MAX_SHOWN = 40


def key(page, name):
    """A page-scoped widget key, which is also the query parameter's name."""
    return f"{page}.{name}"


MAX_VALUE_LENGTH = 2000


def capture():
    """Remember the query parameters as they arrived, and drop the ones no widget may even parse.

    Runs in app.py before any widget exists. Streamlit rejects most bad values itself, but a
    number such as 1e400 or nan crashes its integer parsing, and a megabyte of text is no setting.
    """
    raw = st.query_params.to_dict()
    st.session_state[_RAW] = raw
    unusable = [n for n, v in raw.items() if len(v) > MAX_VALUE_LENGTH or _non_finite_number(v)]
    for name in unusable:
        del st.query_params[name]
    if unusable:
        _forget_initial_values()


def _forget_initial_values():
    """Widgets seed themselves from the URL as first loaded, not from st.query_params: make that
    copy match the cleaned parameters (Streamlit's own method for the same sync on page changes)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is not None:
        with ctx.session_state.query_params() as qp:
            qp.set_initial_query_params_from_current()


def _non_finite_number(text):
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def rejected(page):
    """(name, raw value) of every parameter this run did not honour: unknown, or refused by its widget."""
    raw = st.session_state.get(_RAW, {})
    out = []
    for name, value in raw.items():
        mine = name in GLOBAL_KEYS or name.startswith(f"{page}.")
        if mine and name in st.session_state and _same(value, st.session_state[name]):
            continue
        out.append((name, value))
    return out


def _same(raw, value):
    """Whether a URL string denotes the widget's value (numbers compare as numbers)."""
    if isinstance(value, bool):
        return raw.lower() in ("true", "1") if value else raw.lower() in ("false", "0")
    if isinstance(value, (int, float)):
        try:
            return float(raw) == float(value)
        except ValueError:
            return False
    return raw == str(value)


def url_report(page, slot):
    """Say which link parameters were ignored, in `slot` (a placeholder near the top of the page),
    and drop unknown ones from the URL so a shared link stays clean."""
    bad = rejected(page)
    if not bad:
        return
    shown = ", ".join(f"`{_clean(n)}={_clean(v)}`" for n, v in bad[:8])
    more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
    slot.warning(f"This link had settings the page cannot use, so defaults are shown instead: {shown}{more}.",
                 icon=":material/link:")
    for name, _ in bad:
        if name in st.query_params and name not in st.session_state:
            del st.query_params[name]
    st.session_state[_RAW] = {}


def _clean(text):
    """URL text made inert for markdown: no backticks, no line breaks, bounded length."""
    text = str(text).replace("`", "'").replace("\n", " ").replace("\r", " ")
    return text[:MAX_SHOWN] + ("…" if len(text) > MAX_SHOWN else "")


def clamp(name, lo, hi):
    """Pull a remembered widget value back into [lo, hi] before the widget is drawn.

    A control whose range depends on other controls (an output position, a channel index) keeps
    its old value when the range shrinks; Streamlit would refuse it rather than clamp it. And a
    new range makes it a new widget to Streamlit, which the browser starts at its default while
    the server keeps the old value: so when the range moves, the value is set again, and the
    browser is told it.
    """
    value = st.session_state.get(name)
    moved = st.session_state.get(_RANGE + name) not in (None, (lo, hi))
    st.session_state[_RANGE + name] = (lo, hi)
    if isinstance(value, (int, float)) and (moved or not lo <= value <= hi):
        st.session_state[name] = min(max(value, lo), hi)


def keep_option(name, options):
    """Forget a remembered choice that is no longer among the options, so the default applies."""
    if name in st.session_state and st.session_state[name] not in options:
        del st.session_state[name]
