"""The examples in explorer's docstrings run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

import explorer


def _with_examples():
    finder = doctest.DocTestFinder()
    for info in pkgutil.walk_packages(explorer.__path__, "explorer."):
        module = importlib.import_module(info.name)
        if any(t.examples for t in finder.find(module)):
            yield info.name


@pytest.mark.parametrize("name", sorted(_with_examples()))
def test_the_docstring_examples_hold(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
