import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import app, browser, page  # noqa: E402,F401  (fixtures)
