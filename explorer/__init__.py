"""Layer Lab's compute backend: trace real torch.nn layers and recompute them step by step.

Every public `trace_*` function takes a real module and its input and returns a frozen trace with
`output` (the module's own forward), `manual` (our step-by-step recomputation) and
`max_abs_error`. Nothing here imports Streamlit.
"""
from .attention import AdditiveAttention, trace_attention
from .basic import trace_activation, trace_dropout, trace_embedding, trace_linear
from .conv import trace_conv
from .errors import ExplorerError
from .normalization import trace_norm
from .pooling import trace_pool, trace_upsample
from .recurrent import trace_recurrent
from .timeseries import TimeSeriesModel, trace_pipeline

__all__ = ["ExplorerError", "AdditiveAttention", "trace_activation", "trace_attention", "trace_conv",
           "trace_dropout", "trace_embedding", "trace_linear", "trace_norm", "trace_pool",
           "trace_pipeline", "trace_recurrent", "trace_upsample", "TimeSeriesModel"]
