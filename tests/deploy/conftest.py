import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))

from harness import browser, page  # noqa: E402,F401  (fixtures)
