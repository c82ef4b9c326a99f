"""One learner's browser tab, as the server sees it: Streamlit's own websocket protocol.

A StreamSession opens /_stcore/stream and speaks protobuf BackMsg/ForwardMsg as the browser does:
a rerun request carries every widget's current value (and the fragment id when the widget lives
in a fragment), the page is switched by its script hash, and messages the tab has already received
are named by hash so the server can skip them. It keeps the widgets of the last run to choose from.
Used by the load test and by the tests that change controls the way a browser does, fast.
"""
import random
import time
from dataclasses import dataclass

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import connect

DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


@dataclass
class Widget:
    id: str
    kind: str           # slider, number_input, selectbox, radio, toggle
    default: object     # the value the server set (set=True) or the widget's default
    set: bool
    choices: object     # (lo, hi, step, is_int) for numbers, the option labels for choices
    disabled: bool
    fragment: str

    @property
    def key(self):
        """The page's own key for the widget (ids end in "-<key>")."""
        return self.id.rsplit("-", 1)[-1] if "-" in self.id else self.id

    def state(self, value):
        ws = WidgetState(id=self.id)
        if self.kind == "slider":
            ws.double_array_value.data[:] = [float(value)]
        elif self.kind == "number_input":
            ws.double_value = float(value)
        elif self.kind in ("selectbox", "radio"):
            ws.string_value = str(value)
        else:
            ws.bool_value = bool(value)
        return ws


def _widget(element, fragment):
    kind = element.WhichOneof("type")
    w = getattr(element, kind, None)
    if kind == "slider" and not w.options and w.data_type == w.INT:
        value = (w.value if w.set_value else w.default)[0]
        return Widget(w.id, kind, value, w.set_value, (int(w.min), int(w.max), int(w.step) or 1, True), w.disabled,
                      fragment)
    if kind == "number_input" and w.has_min and w.has_max:
        value = w.value if w.set_value else w.default
        return Widget(w.id, kind, value, w.set_value, (w.min, w.max, w.step or 1, w.data_type == w.INT), w.disabled,
                      fragment)
    if kind in ("selectbox", "radio") and w.options:
        value = w.raw_value if w.set_value else (w.options[w.default] if w.HasField("default") else None)
        return Widget(w.id, kind, value, w.set_value, list(w.options), w.disabled, fragment)
    if kind == "checkbox":
        return Widget(w.id, "toggle", w.value if w.set_value else w.default, w.set_value, (False, True),
                      w.disabled, fragment)
    return None


class StreamSession:
    def __init__(self, url, page, timeout=120):
        host = url.split("//", 1)[1]
        # Entered by hand: a tab outlives any one block (the load test keeps it across pages).
        self.ws = connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], open_timeout=30,
                          origin=url, max_size=None).__enter__()
        self.timeout = timeout
        self.pages = {}            # url path -> script hash
        self.page_hash = ""        # the page this tab shows, sent with every rerun as the browser does
        self.widgets = {}          # id -> Widget, of the last full run and the fragments since
        self.drawn = []            # the widgets the last rerun drew (a fragment's run: only its own)
        self.values = {}           # id -> value, kept across reruns as the browser keeps them
        self.cache = {}            # hash -> cacheable message this tab holds
        self.bytes = 0
        self._rerun(page_name=page)

    def close(self):
        self.ws.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def goto(self, page):
        """Open another page as the sidebar link does; returns the seconds until its run finished."""
        return self._rerun(page_script_hash=self.pages[page])

    def change(self, widget, value):
        """Give one widget a new value; returns the seconds until the rerun finished."""
        self.values[widget.id] = value
        states = [w.state(self.values[w.id]) for w in self.widgets.values() if self.values.get(w.id) is not None]
        return self._rerun(states, fragment_id=widget.fragment, page_script_hash=self.page_hash)

    def _rerun(self, states=(), fragment_id="", page_script_hash="", page_name=""):
        msg = BackMsg()
        cs = msg.rerun_script
        cs.widget_states.widgets.extend(states)
        cs.page_script_hash, cs.page_name, cs.fragment_id = page_script_hash, page_name, fragment_id
        cs.cached_message_hashes.extend(sorted(self.cache))
        if not fragment_id:
            self.widgets = {}
        self.drawn = []
        t0 = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        error = None
        while True:
            raw = self.ws.recv(timeout=self.timeout)
            self.bytes += len(raw)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            if fm.WhichOneof("type") == "ref_hash":     # a message this tab holds: use its copy
                fm = self.cache[fm.ref_hash]
            elif fm.metadata.cacheable and fm.hash:
                self.cache[fm.hash] = fm
            kind = fm.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
                self.page_hash = fm.navigation.page_script_hash
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                if el.WhichOneof("type") == "exception":
                    error = el.exception.message
                w = _widget(el, fm.delta.fragment_id)
                if w is not None:
                    self.widgets[w.id] = w
                    self.drawn.append(w)
                    if w.set or w.id not in self.values:
                        self.values[w.id] = w.default
            elif kind == "script_finished" and fm.script_finished in DONE:
                if error:
                    raise RuntimeError(error)
                if not fragment_id:   # as the browser, forget the widgets the page no longer draws
                    self.values = {k: v for k, v in self.values.items() if k in self.widgets}
                return time.perf_counter() - t0
            elif kind == "page_not_found":
                raise RuntimeError("page not found")


UPLOAD_SOURCES = ("typed", "image")   # choices that wait for an upload or typing: not a single change


def random_change(session, rng=random):
    """A random enabled control of the page and a random value a learner could give it (the seed stays)."""
    widgets = [w for w in session.widgets.values() if not w.disabled and w.key != "seed"]
    while widgets:
        w = rng.choice(widgets)
        if w.kind in ("slider", "number_input"):
            lo, hi, step, is_int = w.choices
            if is_int and (hi - lo) / step < 10_000:   # a value the widget's arrows or drag can reach
                return w, int(lo + step * rng.randint(0, int((hi - lo) // step)))
        elif w.kind == "toggle":
            return w, not session.values.get(w.id)
        else:
            options = [o for o in w.choices if o not in UPLOAD_SOURCES]
            if options:
                return w, rng.choice(options)
        widgets.remove(w)
    return None, None
