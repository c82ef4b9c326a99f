"""Uploaded CSV files: numeric columns come back exactly; anything unusable gets a clear message."""
import pytest

from explorer import ExplorerError
from explorer.examples.csv_upload import MAX_ROWS, MAX_UPLOAD_BYTES, csv_columns


def test_numeric_columns_come_back_as_float64_in_order():
    cols = csv_columns(b"t,value,label\n0,1.5,a\n1,-2,b\n2,3e2,c\n")
    assert list(cols) == ["t", "value"]            # the text column is not offered
    assert cols["value"].tolist() == [1.5, -2.0, 300.0]
    assert str(cols["t"].dtype) == "torch.float64"


def test_a_column_with_one_bad_cell_is_not_offered():
    cols = csv_columns(b"a,b\n1,2\n2,oops\n3,4\n")
    assert list(cols) == ["a"]


def test_non_finite_cells_disqualify_a_column():
    cols = csv_columns(b"a,b\n1,inf\n2,nan\n")
    assert list(cols) == ["a"]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "not text"),
    (b"name\nalice\nbob\n", "only numbers"),
    (b'a,b\n1,"unterminated\n', "could not be read"),
])
def test_unusable_files_are_explained(data, message):
    with pytest.raises(ExplorerError, match=message):
        csv_columns(data)


def test_too_many_rows_is_refused():
    data = b"y\n" + b"1\n" * (MAX_ROWS + 1)
    assert len(data) < MAX_UPLOAD_BYTES            # refused for its rows, not its bytes
    with pytest.raises(ExplorerError, match=f"more than {MAX_ROWS} rows"):
        csv_columns(data)


def test_ten_million_rows_are_refused_before_parsing():
    data = b"y\n" + b"1\n" * 10_000_000            # 20 MB: never handed to the parser
    with pytest.raises(ExplorerError, match="MB"):
        csv_columns(data)


def test_exactly_the_row_limit_is_accepted():
    data = b"y\n" + b"2\n" * MAX_ROWS
    assert len(csv_columns(data)["y"]) == MAX_ROWS
