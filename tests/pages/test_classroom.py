"""The pure parts of the classroom tools: link checking, prediction grading."""
import math

from ui.classroom import close_enough
from ui.state import _clean, _same


def test_same_compares_numbers_as_numbers():
    assert _same("3", 3) and _same("3.0", 3) and _same("1.5", 1.5)
    assert not _same("99", 3) and not _same("abc", 3)
    assert _same("true", True) and _same("false", False) and not _same("true", False)
    assert _same("Conv2d", "Conv2d") and not _same("<script>", "Conv2d")


def test_clean_makes_url_text_inert_and_short():
    text = _clean("`rm -rf`\n[link](javascript:x)" + "a" * 100)
    assert "`" not in text and "\n" not in text
    assert len(text) <= 41


def test_close_enough_counts_significant_digits():
    assert close_enough(-2.0, -2.0)
    assert close_enough(0.123449, 0.1234567)   # 4 significant digits
    assert not close_enough(0.1236, 0.1234)
    assert close_enough(1e-8, 0.0)             # tiny absolute slack for zero
    assert not close_enough(None, 1.0) and not close_enough(math.nan, 1.0)
