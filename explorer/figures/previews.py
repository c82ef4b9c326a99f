"""Tiny live previews for the home page cards: a real module on a fixed example, drawn small."""
import torch
from torch import nn

from ..conv import trace_conv
from ..examples.conv import input_preset, kernel_preset
from .theme import as_numpy, finish, heatmap

import plotly.graph_objects as go


def _small(fig):
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    return finish(fig, height=150).update_layout(margin=dict(l=0, r=0, t=0, b=0))


def convolution():
    """A Sobel kernel finding the strokes of a digit 7."""
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(kernel_preset("edge (Sobel x)", 3, 2).float().view(1, 1, 3, 3))
    t = trace_conv(conv, input_preset("digit 7", 1).float().unsqueeze(0))
    return _small(go.Figure(heatmap(as_numpy(t.output[0, 0]), text=False)))
