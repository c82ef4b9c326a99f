"""Reading plotly figure data back in tests: plotly packs numpy arrays as base64 ("bdata")."""
import base64

import numpy as np


def array(value):
    """A figure data array as numpy (float where it can be), whether plain lists or packed base64."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = [int(s) for s in str(value.get("shape", "")).split(",") if s.strip()] or [len(flat)]
        return flat.reshape(shape)
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return np.asarray(value, dtype=object)
