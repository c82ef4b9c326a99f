"""Margins asked for up front, so that the browser draws a chart once.

plotly.js draws a figure, then measures what its tick labels, axis titles, colour bars, legends and
sliders need outside the plot area; when that is more than the layout's margins, it draws the whole
chart again with wider ones (up to three times). Our figures ask for thin margins and leave the
rest to that, so nearly every chart was drawn two or three times after each change. Asking at once
for about what they will need makes the first draw the last. An estimate short of the need only
costs the redraw it saves otherwise, so nothing is ever clipped; one beyond it costs some blank
space, so the estimates are close rather than generous.
"""
import base64
import math
import re

import numpy as np

# Average glyph width of the UI font, in ems, for digits and lower-case letters.
_EM = 0.6
# Between an axis' tick labels and the margin's edge: the tick gap, and plotly's own pad of
# min(12, every margin) (10 with our thin margins).
_LABEL_GAP = 19
_AXIS = re.compile(r"^([xy])axis(\d*)$")
_CARTESIAN = {"scatter", "scattergl", "bar", "heatmap", "histogram", "box", "violin", "contour"}
_NUMBER_CHARS = 4           # tick labels of a numeric axis whose values are not known here
_LOG_CHARS = 6              # powers of ten as plotly writes them on a log axis ("10⁻⁵", "0.001")
_SLIDER_BELOW_PAD = 86      # a player's slider under the plot: current value, rail, step labels
_END_PAD = 12               # past an x axis's end label, on the side it overhangs


def reserve(fig):
    """`fig` (a figure dict) with its margins raised to what its parts are estimated to need: a new
    dict when a margin grows, `fig` itself when none does. `fig` may be a cached figure and is
    never changed."""
    layout = fig.get("layout", {})
    margin = layout.get("margin", {})
    font = _size(layout.get("font"), 12)
    need = {"l": 0, "r": 0, "t": 0, "b": 0}
    _axes(fig.get("data", []), layout, font, need)
    _colorbars(fig.get("data", []), font, need)
    _legend(fig.get("data", []), layout, font, need)
    for slider in layout.get("sliders", []):
        if slider.get("yanchor") == "top" and slider.get("y", 0) <= 0:
            need["b"] = max(need["b"], slider.get("pad", {}).get("t", 0) + _SLIDER_BELOW_PAD)
    wider = {side: math.ceil(px) for side, px in need.items() if px > margin.get(side, 80 if side != "t" else 100)}
    if not wider:
        return fig
    return {**fig, "layout": {**layout, "margin": {**margin, **wider}}}


def _size(font, default):
    return (font or {}).get("size") or default


def _text_px(chars, size):
    return chars * size * _EM


def axis_title(axis):
    """The text of an axis's title (a layout axis dict), whichever form plotly was given it in."""
    title = axis.get("title")
    return title.get("text") if isinstance(title, dict) else title


def _axes(data, layout, font, need):
    """Tick labels and titles of the axes on the plot area's left and bottom edges."""
    names = {k for k in layout if _AXIS.match(k)}
    for trace in data:
        if trace.get("type", "scatter") in _CARTESIAN:
            names |= {_layout_name(trace.get("xaxis", "x")), _layout_name(trace.get("yaxis", "y"))}
    for name in names:
        ax = layout.get(name, {})
        letter, number = _AXIS.match(name).groups()
        if ax.get("visible") is False:
            continue
        other = layout.get(_layout_name(ax.get("anchor", ("y" if letter == "x" else "x") + number)), {})
        start, end = other.get("domain", [0, 1])
        size = _size(ax.get("tickfont"), font)
        labels = 0.0
        if ax.get("showticklabels", True):
            width = _text_px(_label_chars(ax, letter, letter + number, data), size)
            if letter == "y":
                labels = width + _LABEL_GAP
            else:
                turn = math.radians(ax.get("tickangle") or 0)
                labels = width * abs(math.sin(turn)) + size * 1.3 * abs(math.cos(turn)) + _LABEL_GAP
        if axis_title(ax):
            labels += _size(ax.get("title", {}).get("font") if isinstance(ax.get("title"), dict) else None,
                            font) * 1.25 + 10
        if letter == "y":
            side = ax.get("side", "left")
            if side == "left" and start <= 0.01:
                need["l"] = max(need["l"], labels)
            elif side == "right" and end >= 0.99:
                need["r"] = max(need["r"], labels)
        else:
            if ax.get("side", "bottom") == "bottom" and start <= 0.01:
                need["b"] = max(need["b"], labels)
            if ax.get("showticklabels", True):
                _label_ends(ax, width, _ends_with_ticks(ax, letter + number, data), need)


def _ends_with_ticks(ax, ref, data):
    """(left, right): whether a tick label may sit at that end of an x axis: at a whole-number end
    of a given range, or where plotly's autorange ends on the data itself (lines and points; it pads
    bars and heatmaps by half a cell, and category labels sit mid-cell)."""
    if ax.get("type") == "category" or ax.get("tickvals") is not None or ax.get("ticktext") is not None:
        return False, False
    given = ax.get("range")
    if isinstance(given, (list, tuple)) and len(given) == 2:
        return tuple(isinstance(v, (int, float)) and float(v).is_integer() for v in given)
    on_data = any(t.get("type", "scatter") == "scatter" and t.get("xaxis", "x") == ref
                  and _numbers(t.get("x")) is not None for t in data)
    return on_data, on_data


def _label_ends(ax, width, ends, need):
    """Labels at an x axis's ends reach past the plot area's sides: an upright one by half its width
    on either side, one turned by tickangle (anchored at its end) by its run to the left; plotly
    keeps _END_PAD more beyond it (measured: "300" at 14 px is drawn with a 24 px margin)."""
    left, right = ax.get("domain", [0, 1])
    turn = math.radians(ax.get("tickangle") or 0)
    reach_left, reach_right = (width / 2, width / 2) if not turn else (width * abs(math.cos(turn)), 0.0)
    if ends[0] and left <= 0.01:
        need["l"] = max(need["l"], reach_left + _END_PAD)
    if ends[1] and right >= 0.99:
        need["r"] = max(need["r"], reach_right + _END_PAD)


def _layout_name(ref):
    return ref[0] + "axis" + ref[1:]


def _label_chars(ax, letter, ref, data):
    """The longest tick label the axis will show, in characters."""
    if ax.get("ticktext") is not None:
        return max((len(str(t)) for t in ax["ticktext"]), default=1)
    if ax.get("type") == "log":
        return _LOG_CHARS
    longest = 0
    for trace in data:
        if trace.get(letter + "axis", letter) != ref:
            continue
        values = trace.get(letter)
        if isinstance(values, (list, tuple)) and values and isinstance(values[0], str):
            longest = max(longest, max(len(v) for v in values))
            continue
        if values is None and trace.get("type") == "heatmap":
            rows, cols = _shape(trace.get("z"))
            values = [0, max((rows if letter == "y" else cols) - 1, 0)]
        numbers = _numbers(values)
        longest = max(longest, _tick_chars(numbers) if numbers is not None else _NUMBER_CHARS)
    return longest or _NUMBER_CHARS


def _numbers(values):
    """The finite numbers of a data array (a list, numpy array or typed-array spec), or None."""
    try:
        if isinstance(values, dict) and "bdata" in values:
            values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        array = np.asarray(values if values is not None else [], dtype=float)
    except (TypeError, ValueError, KeyError):
        return None
    array = array[np.isfinite(array)]
    return array if array.size else None


def _tick_chars(numbers):
    """The longest label of the evenly stepped ticks plotly puts on a range: about five steps of
    1, 2 or 5 times a power of ten."""
    lo, hi = float(numbers.min()), float(numbers.max())
    span = hi - lo or abs(hi) or 1.0
    raw = span / 5
    step = min((m * 10 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)
                if m * 10 ** math.floor(math.log10(raw)) >= raw))
    decimals = max(0, -math.floor(math.log10(step)))
    return max(len(f"{v:.{decimals}f}") for v in (lo, hi))


def _shape(z):
    """(rows, columns) of a heatmap's z: nested lists, a numpy array, or a typed-array spec."""
    if isinstance(z, dict) and "bdata" in z:
        dims = [int(d) for d in str(z.get("shape", "1")).split(",")]
        return (dims[0], dims[1]) if len(dims) == 2 else (1, dims[0])
    shape = getattr(z, "shape", None)
    if shape is not None:
        return (shape[0], shape[1]) if len(shape) == 2 else (1, shape[0])
    if isinstance(z, (list, tuple)) and z:
        return len(z), len(z[0]) if isinstance(z[0], (list, tuple)) else 1
    return 1, 1


def _colorbars(data, font, need):
    """A colour bar stands right of the plot area: its bar, then its tick labels."""
    for trace in data:
        shown = trace.get("showscale", trace.get("type") in ("heatmap", "contour"))
        if not shown:
            continue
        bar = trace.get("colorbar", {})
        if bar.get("x", 1.02) < 1 or bar.get("orientation", "v") != "v":
            continue
        ends = [trace.get("zmin"), trace.get("zmax")]
        chars = max([len(f"{v:g}") for v in ends if isinstance(v, (int, float))] + [3])
        need["r"] = max(need["r"], 32 + bar.get("thickness", 30) + _text_px(chars, _size(bar.get("tickfont"), font)))


def _legend(data, layout, font, need):
    """A legend outside the plot area: right of it (plotly's default), or a row above or below."""
    if not layout.get("showlegend"):
        return
    names = [t.get("name", "") for t in data if t.get("showlegend", True) is not False and t.get("name")]
    if not names:
        return
    legend = layout.get("legend", {})
    size = _size(legend.get("font"), font)
    if legend.get("orientation", "v") == "v":
        if legend.get("x", 1.02) >= 1:
            need["r"] = max(need["r"], _text_px(max(map(len, names)), size) + 58)
        return
    height = layout.get("height") or 450
    plot_h = max(height - layout.get("margin", {}).get("t", 100) - 80, 100)
    row = size * 1.3 + 10
    width = sum(_text_px(len(n), size) + 50 for n in names)
    rows = max(1, math.ceil(width / 900))
    y = legend.get("y", 1.0)
    if y < 0:
        need["b"] = max(need["b"], -y * plot_h + rows * row + 14)
    elif y >= 1 and legend.get("yanchor") == "bottom":
        need["t"] = max(need["t"], (y - 1) * plot_h + rows * row + 6)
