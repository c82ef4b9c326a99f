"""Numbers printed in heatmap cells only where they can be read."""
import numpy as np

from explorer.figures.theme import heatmap


def test_small_grids_print_three_digits_in_large_type():
    h = heatmap(np.zeros((8, 8)))
    assert h.texttemplate == "%{z:.3g}" and h.textfont.size == 12


def test_up_to_a_dozen_columns_print_three_digits_in_small_type():
    h = heatmap(np.zeros((10, 12)))                 # 120 cells
    assert h.texttemplate == "%{z:.3g}" and h.textfont.size == 9


def test_wider_grids_print_two_decimals_so_that_neighbours_do_not_overlap():
    h = heatmap(np.zeros((16, 16)))                 # the 16x16 digits' maps in a half-width stepper
    assert h.texttemplate == "%{z:.2~f}" and h.textfont.size == 8   # 0 as "0", 1.357 as "1.36"


def test_past_400_cells_nothing_is_printed_and_hover_still_tells():
    h = heatmap(np.zeros((20, 21)))
    assert h.texttemplate is None and "%{z:.6g}" in h.hovertemplate
    assert heatmap(np.zeros((4, 4)), text=False).texttemplate is None
