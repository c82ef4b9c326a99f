"""Ready-made inputs per layer family (presets) and the seed notes' common mistakes.

A page offers these to the learner; keeping them here keeps the pages free of numbers.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    """A worked example from the seed notes that goes wrong, next to what torch really computes.

    title: short name shown as the callout heading
    claim: what the notes say, quoted in words and numbers
    what_goes_wrong: the step that breaks, in one or two sentences
    trace: the real trace for the same input and module (its `output` is the truth)
    code: a short PyTorch snippet that prints the true numbers
    """
    title: str
    claim: str
    what_goes_wrong: str
    trace: object
    code: str


@dataclass(frozen=True)
class Confirmed:
    """A worked example from the seed notes that is right, with the trace that bears it out.

    title: short name shown as the callout heading
    claim: what the notes say
    check: how the real numbers confirm it, in a sentence or two
    trace: the real trace for the same input and module
    code: a short PyTorch snippet that prints the numbers
    """
    title: str
    claim: str
    check: str
    trace: object
    code: str
