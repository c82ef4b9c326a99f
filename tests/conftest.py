import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))  # shared test helpers such as plotly_data

# As the server does (app.py): the tests' tensors are tiny, and a second thread only adds start-up
# cost to every op, a lot of it on busy cores.
torch.set_num_threads(1)

# Figures are built as dicts and validated only here: a misspelt property fails the test that drew it.
from explorer.figures import spec  # noqa: E402

spec.VALIDATE = True
