"""The terminal's plain-text tables (hivlatent.prediction.text_table)."""

from __future__ import annotations

from rich.cells import cell_len

from hivlatent.prediction.text_table import MIN_LAST, render_table, wrap_items


def test_columns_fit_their_cells_and_the_last_wraps_within_the_width():
    rows = [["1", "NRTI", "AZT", "RT:L210W +0.65, RT:M41L +0.54, RT:Q151M +0.44"],
            ["12", "NNRTI", "ETR", ""]]
    lines = render_table(["Rank", "Class", "Drug", "Drivers"], ["right", "left", "left", "left"],
                         rows, width=40)
    assert lines[0].startswith("Rank  Class  Drug") and set(lines[1]) <= {"─", " "}
    assert lines[2].startswith("   1  NRTI   AZT   RT:L210W +0.65,")
    assert all(cell_len(x) <= 40 for x in lines[1:]) and len(lines) == 6
    assert lines[-1] == "  12  NNRTI  ETR"                      # no trailing spaces
    assert " ".join(x.strip() for x in lines[2:5]).endswith("RT:M41L +0.54, RT:Q151M +0.44")


def test_wide_characters_count_two_cells_and_long_items_still_wrap():
    lines = render_table(["id", "x"], ["left", "left"], [["漢字", "a"], ["ab", "b"]], width=80)
    assert cell_len(lines[2][:lines[2].rindex("a")]) == lines[3].rindex("b") == 6   # aligned
    assert wrap_items("a b, c d, e", 5) == ["a b,", "c d,", "e"]
    assert wrap_items("x" * 12, 5) == ["xxxxx", "xxxxx", "xx"] and wrap_items("", 5) == [""]
    narrow = render_table(["a", "b"], ["left", "left"], [["y" * 50, "z " * 30]], width=20)
    assert all(cell_len(x) <= 52 + MIN_LAST for x in narrow)
