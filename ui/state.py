"""Widget keys that live in the URL, so a link reproduces the view, and the check of what came in.

Every page widget is created with `bind=BIND` and a key from `key(page, name)`. Streamlit itself
refuses a bound value that the widget cannot take (out of range, not an option, not a number)
and falls back to the default; `url_report` tells the learner that it happened.
"""
import streamlit as st

BIND = "query-params"
GLOBAL_KEYS = ("seed", "present", "imgfmt")
_RAW = "_url_at_start"
MAX_SHOWN = 40


def key(page, name):
    """A page-scoped widget key, which is also the query parameter's name."""
    return f"{page}.{name}"


def capture():
    """Remember the query parameters as they arrived, before widgets accept or drop them."""
    st.session_state[_RAW] = st.query_params.to_dict()


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
