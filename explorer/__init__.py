"""Layer Lab's compute backend: trace real torch.nn layers and recompute them step by step.

Every public `trace_*` function takes a real module and its input and returns a frozen trace with
`output` (the module's own forward), `manual` (our step-by-step recomputation) and
`max_abs_error`. Nothing here imports Streamlit.
"""
from .conv import trace_conv
from .errors import ExplorerError

__all__ = ["ExplorerError", "trace_conv"]
