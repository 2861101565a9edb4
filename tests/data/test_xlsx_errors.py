"""Error cells of XLSX sheets (ics_model.data.xlsx_errors)."""

from __future__ import annotations

import xlsxwriter

from ics_model.data.cqc_tables import read_table
from ics_model.data.xlsx_errors import ERROR_VALUES, xlsx_error_cells


def _workbook(path, errors):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Data")
    ws.write_row(0, 0, ["a", "b", "c"])
    ws.write_row(1, 0, ["1", "2", "3"])
    ws.write_row(2, 0, ["4", "5", "6"])
    for (r, c), value in errors.items():
        ws.write_formula(r, c, "=1/0", None, value)
    other = wb.add_worksheet("Other")
    other.write_formula(0, 0, "=1/0", None, "#REF!")
    wb.close()
    return path


def test_error_cells_are_found_by_place_and_text(tmp_path):
    path = _workbook(tmp_path / "e.xlsx", {(1, 2): "#DIV/0!", (2, 0): "#N/A"})
    assert xlsx_error_cells(path, "Data") == [(1, 2, "#DIV/0!"), (2, 0, "#N/A")]
    assert xlsx_error_cells(path, "Other") == [(0, 0, "#REF!")]
    assert xlsx_error_cells(path, "Absent") == []


def test_a_sheet_without_error_cells_and_a_file_that_is_not_xlsx(tmp_path):
    assert xlsx_error_cells(_workbook(tmp_path / "ok.xlsx", {}), "Data") == []
    other = tmp_path / "x.xlsx"
    other.write_bytes(b"not a zip")
    assert xlsx_error_cells(other, "Data") == []


def test_the_table_reader_puts_the_error_text_back(tmp_path):
    path = _workbook(tmp_path / "e.xlsx", {(1, 2): "#DIV/0!", (2, 0): "#N/A"})
    table = read_table(path, "Data", r"$^")
    assert table.frame.select("a", "c").rows() == [("1", "#DIV/0!"), ("#N/A", "6")]
    assert any("2 error cell(s)" in n for n in table.notes)


def test_the_error_values_are_the_spreadsheet_ones():
    assert {"#DIV/0!", "#N/A", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!"} <= ERROR_VALUES
