"""CSV cells a spreadsheet would evaluate are neutralised and restored exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from eisfit.runs.csv_cells import neutralise, restore


def test_formula_text_is_quoted_numbers_are_not() -> None:
    frame = pd.DataFrame({
        "source": ["=1+1.csv", "+x", "-rm", "@SUM(A1)", "\tx", "plain", "'=already", None],
        "value": [-1.5, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0],
        "kk_valid": [True, False, None, True, True, True, True, True],
    })  # fmt: skip
    safe = neutralise(frame)
    assert safe["source"].tolist()[:7] == [
        "'=1+1.csv", "'+x", "'-rm", "'@SUM(A1)", "'\tx", "plain", "''=already",
    ]  # fmt: skip
    assert safe["value"].tolist()[0] == -1.5
    pd.testing.assert_frame_equal(restore(safe), frame)


def test_string_dtype_columns_are_covered() -> None:
    frame = pd.DataFrame({"fit_file": pd.array(["=cmd_0", "ok_0"], dtype="string")})
    assert neutralise(frame)["fit_file"].tolist() == ["'=cmd_0", "ok_0"]


def test_a_round_trip_through_a_file(tmp_path) -> None:
    frame = pd.DataFrame({"source": ["=HYPERLINK(\"http://x\")", "a,b", "-"], "n": [1, 2, 3]})
    path = tmp_path / "t.csv"
    neutralise(frame).to_csv(path, index=False)
    text = path.read_text()
    assert "\n=" not in text and "\n'=HYPERLINK" in text.replace('"', "")
    pd.testing.assert_frame_equal(restore(pd.read_csv(path)), frame, check_dtype=False)
