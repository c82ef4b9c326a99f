"""The one error type of the explorer: a message a learner can act on."""


class ExplorerError(ValueError):
    """Bad input or settings, explained in words that say what to change.

    >>> raise ExplorerError("Input has 3 channels but the layer expects 1.")
    Traceback (most recent call last):
    ...
    explorer.errors.ExplorerError: Input has 3 channels but the layer expects 1.
    """
