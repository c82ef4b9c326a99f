"""Figures built as plain dicts, with the part of plotly's Figure API our figures use.

Every property plotly's Figure sets is validated and routed through its update machinery: about
0.3 ms each, so a grid of heatmaps cost 50-100 ms to build while its trace took 3 ms. A Spec
collects the same layout as dicts (make_subplots' grid is computed once per shape and copied) and
is finished as a Built figure: a go.Figure that hands its dict to the page as is and makes plotly's
object tree only if something reads it. Traces are still plotly objects (their constructors
validate cheaply), and with VALIDATE set, as the tests do, the finished figure is a validated
go.Figure, so a misspelt property fails there.
"""
import copy
import functools

import plotly.graph_objects as go
from _plotly_utils.utils import is_homogeneous_array, is_skipped_key, to_typed_array_spec
from plotly import shapeannotation
from plotly.subplots import make_subplots

VALIDATE = False
# Every plotly property whose own name holds an underscore (the rest are paths: title_text).
_UNDERSCORED = ("paper_bgcolor", "plot_bgcolor", "error_x", "error_y", "error_z", "copy_ystyle", "copy_zstyle")


def expand(props):
    """Plotly's keyword forms as nested dicts: title_text="t" -> {"title": {"text": "t"}}, and a
    title given as a string -> {"text": ...}, as plotly.py stores it (plotly.js wants the dict)."""
    out = {}
    for key, value in props.items():
        *parents, leaf = _path(key)
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        if isinstance(value, dict):
            value = expand(value)
        if leaf == "title" and isinstance(value, str):
            value = {"text": value}
        if isinstance(node.get(leaf), dict) and isinstance(value, dict):
            merge(node[leaf], value)
        else:
            node[leaf] = value
    return out


def _path(key):
    for name in _UNDERSCORED:
        if name in key:
            head, _, tail = key.partition(name)
            return [*head.split("_")[:-1], name, *tail.split("_")[1:]]
    return key.split("_")


def merge(target, patch):
    """Deep-merge `patch` into `target`; None removes a property, as plotly.py's update does."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            node = target[key] if isinstance(target.get(key), dict) else {}
            merge(node, value)
            if node:
                target[key] = node
            else:                       # plotly.py keeps no empty objects either
                target.pop(key, None)
        else:
            target[key] = value
    return target


_DICT = object()  # marks a dict turned into a tuple, so an empty dict stays a dict


def _hashable(v):
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return (_DICT,) + tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def _unhash(v):
    if isinstance(v, tuple) and v and v[0] is _DICT:
        return {k: _unhash(x) for k, x in v[1:]}
    if isinstance(v, tuple):
        return [_unhash(x) for x in v]
    return v


@functools.lru_cache(maxsize=256)
def _grid(key):
    """make_subplots' layout and cell -> (x axis, y axis) map for one grid shape (titles stand in)."""
    fig = make_subplots(**_unhash(key))
    cells = {}
    for r, row in enumerate(fig._grid_ref, 1):
        for c, refs in enumerate(row, 1):
            if refs:
                x, y = refs[0].trace_kwargs["xaxis"], refs[0].trace_kwargs["yaxis"]
                cells[(r, c)] = (x, y)
    layout = fig.to_plotly_json()["layout"]
    layout.pop("template", None)
    return layout, cells, (fig._grid_ref, fig._grid_str)


class Spec:
    """A figure under construction: `data` is a list of trace dicts, `layout` a dict."""

    def __init__(self, data=None, layout=None):
        traces = data if isinstance(data, (list, tuple)) else [] if data is None else [data]
        self.data = [_as_dict(t) for t in traces]
        self.layout = expand(layout or {})
        self._cells = {}
        self._grid = None   # plotly's own grid reference, so the finished figure still takes row=, col=

    # -- subplots ---------------------------------------------------------------------------------
    @classmethod
    def subplots(cls, rows=1, cols=1, subplot_titles=None, **kwargs):
        """As plotly's make_subplots (same arguments, same layout)."""
        titles = list(subplot_titles or [])
        stand_ins = [f"\x00{i}" if t else t for i, t in enumerate(titles)]   # cached once per grid shape
        args = dict(rows=rows, cols=cols, **kwargs)
        if titles:
            args["subplot_titles"] = stand_ins
        layout, cells, grid = _grid(_hashable(args))
        fig = cls(layout={})
        fig.layout = copy.deepcopy(layout)
        for a in fig.layout.get("annotations", []):
            text = a.get("text", "")
            if text.startswith("\x00"):
                a["text"] = titles[int(text[1:])]
        fig._cells, fig._grid = cells, grid
        return fig

    def axes(self, row=None, col=None):
        """(x axis id, y axis id) of a cell, as traces name them: ("x2", "y2")."""
        if row is None and col is None or not self._cells:
            return "x", "y"
        return self._cells[(row, col)]

    def axis_layout(self, axis_id):
        """The layout dict of an axis id ("x2" -> layout["xaxis2"]), created if missing."""
        return self.layout.setdefault(axis_id[0] + "axis" + axis_id[1:], {})

    def _axis_keys(self, letter, row, col):
        if row is None and col is None:
            keys = [k for k in self.layout if k == letter + "axis" or k.startswith(letter + "axis") and k[5:].isdigit()]
            return keys or [letter + "axis"]
        ids = [xy[0 if letter == "x" else 1] for (r, c), xy in self._cells.items()
               if (row is None or r == row) and (col is None or c == col)] if self._cells else [letter]
        return [i[0] + "axis" + i[1:] for i in ids]

    # -- the Figure API -----------------------------------------------------------------------------
    def add_trace(self, trace, row=None, col=None):
        t = _as_dict(trace)
        if row is not None and self._cells:
            t["xaxis"], t["yaxis"] = self.axes(row, col)
        self.data.append(t)
        return self

    def update_layout(self, dict1=None, **kwargs):
        merge(self.layout, expand({**(dict1 or {}), **kwargs}))
        return self

    def update_xaxes(self, dict1=None, row=None, col=None, **kwargs):
        return self._update_axes("x", row, col, {**(dict1 or {}), **kwargs})

    def update_yaxes(self, dict1=None, row=None, col=None, **kwargs):
        return self._update_axes("y", row, col, {**(dict1 or {}), **kwargs})

    def _update_axes(self, letter, row, col, props):
        patch = expand(props)
        for k in self._axis_keys(letter, row, col):
            merge(self.layout.setdefault(k, {}), patch)   # merge copies dicts: no two axes share one
        return self

    def add_annotation(self, dict1=None, row=None, col=None, **kwargs):
        self.layout.setdefault("annotations", []).append(self._placed({**(dict1 or {}), **kwargs}, row, col))
        return self

    def add_shape(self, dict1=None, row=None, col=None, **kwargs):
        self.layout.setdefault("shapes", []).append(self._placed({**(dict1 or {}), **kwargs}, row, col))
        return self

    def update_annotations(self, dict1=None, **kwargs):
        patch = expand({**(dict1 or {}), **kwargs})
        for a in self.layout.get("annotations", []):
            merge(a, patch)
        return self

    def _placed(self, props, row, col):
        obj = merge({}, expand(props))   # merge drops None and empty objects, as plotly.py does
        if row is not None or col is not None:
            x, y = self.axes(row, col)
            obj["xref"], obj["yref"] = x, y
        return obj

    def add_hline(self, y, row=None, col=None, **kwargs):
        return self._spanning("hline", dict(type="line", x0=0, x1=1, y0=y, y1=y), row, col, kwargs)

    def add_vline(self, x, row=None, col=None, **kwargs):
        return self._spanning("vline", dict(type="line", x0=x, x1=x, y0=0, y1=1), row, col, kwargs)

    def add_vrect(self, x0, x1, row=None, col=None, **kwargs):
        return self._spanning("vrect", dict(type="rect", x0=x0, x1=x1, y0=0, y1=1), row, col, kwargs)

    def _spanning(self, kind, shape, row, col, kwargs):
        """As plotly's add_hline/add_vline/add_vrect on one cell (or the only plot): the shape spans
        the cell's domain across, and an annotation_* label is placed as plotly places it."""
        shape_kw, label_kw = shapeannotation.split_dict_by_key_prefix(kwargs, "annotation_")
        label = shapeannotation.axis_spanning_shape_annotation(None, kind, shape, label_kw)
        across = "xref" if kind == "hline" else "yref"
        for r, c in self._spanned_cells(row, col):
            x, y = self.axes(r, c)
            s = merge({}, expand({**shape, **shape_kw}))
            s["xref"], s["yref"] = x, y
            s[across] += " domain"
            self.layout.setdefault("shapes", []).append(s)
            if label is not None:
                a = merge({}, expand(dict(label)))
                a["xref"], a["yref"] = x, y
                a[across] += " domain"
                self.layout.setdefault("annotations", []).append(a)
        return self

    def _spanned_cells(self, row, col):
        if not self._cells:
            return [(None, None)]
        if row is not None and col is not None:
            return [(row, col)]
        used = {(t.get("xaxis", "x"), t.get("yaxis", "y")) for t in self.data}
        return [rc for rc, xy in self._cells.items()
                if (row is None or rc[0] == row) and (col is None or rc[1] == col) and xy in used]

    def figure(self, frames=None):
        """The finished go.Figure: validated in full with VALIDATE, else a Built one."""
        spec = dict(data=self.data, layout=self.layout)
        if frames is not None:
            spec["frames"] = frames
        if VALIDATE:
            return go.Figure(self._with_grid(spec))
        return Built(spec, self._with_grid)

    def _with_grid(self, spec):
        """The spec as go.Figure takes it, with plotly's grid reference, so row=, col= still work."""
        if not self._grid:
            return spec
        return {**spec, "_grid_ref": self._grid[0], "_grid_str": self._grid[1]}


class Built(go.Figure):
    """A finished figure kept as its plain dict: to_plotly_json() hands the dict over as is, and
    the plotly object tree (6% of a page's rerun to build) is made only when something else reads
    or changes the figure."""

    def __new__(cls, spec, prepare=dict):
        obj = object.__new__(cls)
        obj._spec, obj._prepare = spec, prepare
        return obj

    def __init__(self, spec, prepare=dict):  # noqa: D107 (the tree is made on first use, by __getattr__)
        pass

    def __getattr__(self, name):
        # Reached only for what go.Figure.__init__ sets (or a property reading it): make the tree.
        if name in ("_spec", "_prepare") or "_made" in self.__dict__:
            raise AttributeError(name)
        self.__dict__["_made"] = True
        go.Figure.__init__(self, self._prepare(self._spec), _validate=False)
        return getattr(self, name)

    def to_dict(self):   # to_plotly_json and st.plotly_chart both come here
        if "_made" in self.__dict__:
            return super().to_dict()
        return _typed(self._spec)


def _typed(obj):
    """`obj` with every numeric numpy array as plotly's typed-array spec (base64), as go.Figure's
    to_dict sends it: numpy arrays left to the JSON encoder become long lists of digits. Containers
    are copied, the arrays are not."""
    if isinstance(obj, dict):
        return {k: v if is_skipped_key(k) else to_typed_array_spec(v) if is_homogeneous_array(v) else _typed(v)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_typed_array_spec(v) if is_homogeneous_array(v) else _typed(v) for v in obj]
    return obj


def _as_dict(trace):
    return dict(trace) if isinstance(trace, dict) else trace.to_plotly_json()


def returns_figure(build):
    """For a figure function written on a Spec: its callers get the finished go.Figure."""
    @functools.wraps(build)
    def wrapper(*args, **kwargs):
        fig = build(*args, **kwargs)
        return fig.figure() if isinstance(fig, Spec) else fig
    return wrapper
