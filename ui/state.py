"""Widget keys that live in the URL, so a link reproduces the view.

Every page widget is created with `bind=BIND` and a key from `key(page, name)`. Streamlit validates
bound values against the widget (options, ranges) and drops invalid ones from the URL.
"""
BIND = "query-params"


def key(page, name):
    """A page-scoped widget key, which is also the query parameter's name."""
    return f"{page}.{name}"
