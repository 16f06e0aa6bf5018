"""Readers on small hand-made files: every file-level problem gives one FileProblem that
names landlord, file and (where it applies) column, and says what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from increase_eval import readers
from increase_eval.config import FileMapping
from increase_eval.errors import FileProblem

COLUMNS = {"participant_ref": "Réf", "session_date": "Date", "duration": "Durée"}
REQUIRED = {"participant_ref", "session_date", "duration"}


def mapping(**kw) -> FileMapping:
    base = dict(table="sessions", path="s.csv", format="csv", columns=COLUMNS, encoding="cp1252", delimiter=";")
    return FileMapping(**{**base, **kw})


def read(tmp_path: Path, content: bytes | None = None, **kw):
    m = mapping(**kw)
    if content is not None:
        (tmp_path / m.path).write_bytes(content)
    [src] = readers.open_sources("neotoa", tmp_path, m, REQUIRED)
    return readers.read(src, REQUIRED)


def test_reads_text_and_row_numbers_as_a_person_sees_them(tmp_path):
    frame, malformed = read(tmp_path, "Réf;Date;Durée;Extra\r\nA1;01/02/2020;1,5;x\r\nA2;02/02/2020;2;y\r\n"
                            .encode("cp1252"))
    assert malformed == []
    assert frame["participant_ref"].tolist() == ["A1", "A2"]
    assert frame["duration"].tolist() == ["1,5", "2"]
    assert frame[readers.ROW].tolist() == [2, 3]


def test_title_block_above_the_header_is_found_automatically(tmp_path):
    content = "Export INCREASE;;\r\nExtrait le 30/06/2023;;\r\n;;\r\nRéf;Date;Durée\r\nA1;01/02/2020;1\r\n"
    frame, _ = read(tmp_path, content.encode("cp1252"), header_row="auto")
    assert frame["participant_ref"].tolist() == ["A1"]
    assert frame[readers.ROW].tolist() == [5]


def test_headers_match_whatever_their_case_accents_and_spaces(tmp_path):
    frame, _ = read(tmp_path, " REF ;date;DUREE\r\nA1;01/02/2020;1\r\n".encode("cp1252"))
    assert frame["session_date"].tolist() == ["01/02/2020"]


def test_utf8_byte_order_mark_is_not_part_of_the_first_header(tmp_path):
    frame, _ = read(tmp_path, "\ufeffRéf;Date;Durée\r\nA1;01/02/2020;1\r\n".encode("utf-8"), encoding="utf-8")
    assert frame["participant_ref"].tolist() == ["A1"]


def test_missing_file(tmp_path):
    with pytest.raises(FileProblem, match=r"neotoa: s.csv: file not found in .* \(expected the sessions export"):
        read(tmp_path)


def test_empty_file(tmp_path):
    with pytest.raises(FileProblem, match=r"neotoa: s.csv: the file is empty"):
        read(tmp_path, b"")


def test_header_only_gives_no_rows_and_no_error(tmp_path):
    frame, malformed = read(tmp_path, "Réf;Date;Durée\r\n".encode("cp1252"))
    assert len(frame) == 0 and malformed == []


def test_wrong_encoding_is_named_with_a_hint(tmp_path):
    with pytest.raises(FileProblem, match=r"not readable as utf-8 .*byte 0xe9 on line 1.*cp1252"):
        read(tmp_path, "Réf;Date;Durée\r\nA1;01/02/2020;1\r\n".encode("cp1252"), encoding="utf-8")


def test_utf8_read_as_windows_1252_is_a_file_problem_saying_what_to_write(tmp_path):
    with pytest.raises(FileProblem, match=r"neotoa: s.csv: the file is UTF-8 .*not cp1252 as the mapping says.*"
                                          r"write 'encoding: utf-8' in the mapping"):
        read(tmp_path, "Réf;Date;Durée\r\nA1;01/02/2020;1\r\n".encode("utf-8"), encoding="cp1252")
    # accents only far down a long file (past the first sniffed bytes) are seen too
    rows = "".join(f"A{i};01/02/2020;1\r\n" for i in range(40_000))
    with pytest.raises(FileProblem, match=r"the file is UTF-8"):
        read(tmp_path, ("Ref;Date;Duree\r\n" + rows + "Zoé;01/02/2020;1\r\n").encode("utf-8"), encoding="latin-1",
             columns={"participant_ref": "Ref", "session_date": "Date", "duration": "Duree"})
    # a Windows-1252 file is not mistaken for one
    frame, _ = read(tmp_path, "Réf;Date;Durée\r\nZoé;01/02/2020;1\r\n".encode("cp1252"))
    assert frame["participant_ref"].tolist() == ["Zoé"]


def test_wrong_delimiter_is_named(tmp_path):
    with pytest.raises(FileProblem, match=r"column 'Réf': required column missing .*not separated by ';'"):
        read(tmp_path, "Réf,Date,Durée\r\nA1,01/02/2020,1\r\n".encode("cp1252"))


def test_missing_required_column_is_named(tmp_path):
    with pytest.raises(FileProblem, match=r"neotoa: s.csv, column 'Durée': required column missing \(expected a "
                                          r"header 'Durée' for duration\)"):
        read(tmp_path, "Réf;Date\r\nA1;01/02/2020\r\n".encode("cp1252"))


def test_duplicate_header_is_refused(tmp_path):
    with pytest.raises(FileProblem, match=r"column 'Date': the header appears 2 times \(columns B, D\)"):
        read(tmp_path, "Réf;Date;Durée;Date\r\nA1;01/02/2020;1;02/02/2020\r\n".encode("cp1252"))


def test_row_with_too_many_fields_is_rejected_with_its_line_number(tmp_path):
    content = "Réf;Date;Durée\r\nA1;01/02/2020;1\r\nA2;02/02/2020;1;oops\r\nA3;03/02/2020;1\r\n"
    frame, malformed = read(tmp_path, content.encode("cp1252"))
    assert frame["participant_ref"].tolist() == ["A1", "A3"]
    assert frame[readers.ROW].tolist() == [2, 4]
    assert [(m["row"], m["reason"]) for m in malformed] == [(3, "row has 4 fields, expected 3 (a stray ';' or quote?)")]


def _xlsx(path: Path, rows: list[list]) -> None:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_xlsx_with_title_block_merged_cells_and_typed_dates(tmp_path):
    from datetime import datetime

    path = tmp_path / "s.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["Clarion - sessions"])
    ws.merge_cells("A1:C1")
    ws.append([])
    ws.append(["Réf", "Date", "Durée"])
    ws.append([12345, datetime(2020, 2, 1), 1.5])
    ws.append([None, None, None])            # a blank spacer row is not a record
    ws.append(["A2", "02/02/2020", 60])
    wb.save(path)
    frame, _ = read(tmp_path, None, path="s.xlsx", format="xlsx", header_row="auto")
    assert frame["participant_ref"].tolist() == ["12345", "A2"]
    assert frame["session_date"].tolist() == ["2020-02-01", "02/02/2020"]
    assert frame["duration"].tolist() == ["1.5", "60"]
    assert frame[readers.ROW].tolist() == [4, 6]


def test_corrupted_xlsx_is_named(tmp_path):
    (tmp_path / "s.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    with pytest.raises(FileProblem, match=r"neotoa: s.xlsx: not a readable Excel workbook"):
        read(tmp_path, None, path="s.xlsx", format="xlsx")


def test_xlsx_missing_sheet_lists_the_sheets(tmp_path):
    _xlsx(tmp_path / "s.xlsx", [["Réf", "Date", "Durée"]])
    with pytest.raises(FileProblem, match=r"no sheet named 'Sessions' \(sheets: Sheet\)"):
        read(tmp_path, None, path="s.xlsx", format="xlsx", sheet="Sessions")


def test_a_parser_message_never_repeats_the_row_it_quotes(tmp_path):
    import pyarrow as pa

    (tmp_path / "s.csv").write_bytes("Réf;Date;Durée\n".encode("cp1252"))
    [src] = readers.open_sources("neotoa", tmp_path, mapping(), REQUIRED)
    problem = readers._arrow_problem(src, pa.ArrowInvalid("CSV parse error: Expected 3 columns, got 4: "
                                                          "AH-1;Zorglub;zorglub@example.org;1"))
    assert "Expected 3 columns, got 4" in str(problem) and "orglub" not in str(problem)


# --- broken exports found by a reliability run ------------------------------------------------

def test_a_header_deeper_than_the_title_scan_is_read_where_the_mapping_says(tmp_path):
    title = "".join(f"Export INCREASE, ligne {i}\r\n" for i in range(1, 35))
    frame, _ = read(tmp_path, (title + "Réf;Date;Durée\r\nA1;01/02/2020;1\r\n").encode("cp1252"), header_row=35)
    assert frame["participant_ref"].tolist() == ["A1"] and frame[readers.ROW].tolist() == [36]
    with pytest.raises(FileProblem, match=r"the file has 36 line\(s\); expected a header on row 40"):
        read(tmp_path, None, header_row=40)


def test_every_file_problem_is_one_short_line(tmp_path):
    header = ";".join(["Réf", "Date", "Durée"] + ["Date"] * 5000)
    with pytest.raises(FileProblem) as caught:
        read(tmp_path, (header + "\r\nA1;01/02/2020;1\r\n").encode("cp1252"))
    assert "appears 5001 times (columns B, D, E, F, G and 4996 more)" in str(caught.value)
    long = FileProblem("neotoa", "x" * 500, "y" * 5000 + "\nsecond line", "z" * 500)
    assert len(str(long)) <= 300 and "\n" not in str(long)


def test_empty_lines_and_rows_of_delimiters_are_blank_rows_and_row_numbers_stay_right(tmp_path):
    content = "Réf;Date;Durée\r\nA1;01/02/2020;1\r\n\r\n;;\r\n;\r\nA2;02/02/2020;2\r\n;;\r\n"
    m = mapping()
    (tmp_path / m.path).write_bytes(content.encode("cp1252"))
    [src] = readers.open_sources("neotoa", tmp_path, m, REQUIRED)
    frame, malformed = readers.read(src, REQUIRED)
    assert frame["participant_ref"].tolist() == ["A1", "A2"] and frame[readers.ROW].tolist() == [2, 6]
    assert malformed == [] and src.blank_rows == 4
    # streamed (the rent panel's path) alike
    [src] = readers.open_sources("neotoa", tmp_path, m, REQUIRED)
    [(batch, malformed)] = list(readers.batches(src, REQUIRED, arrow=True))
    assert batch[readers.ROW].tolist() == [2, 6] and src.blank_rows == 4


def test_a_row_with_a_value_only_in_a_column_not_read_is_a_record_not_a_blank(tmp_path):
    content = "Réf;Date;Durée;Note\r\nA1;01/02/2020;1;\r\n;;;called\r\n;;;\r\n"
    m = mapping()
    (tmp_path / m.path).write_bytes(content.encode("cp1252"))
    [src] = readers.open_sources("neotoa", tmp_path, m, REQUIRED)
    frame, _ = readers.read(src, REQUIRED)
    assert frame[readers.ROW].tolist() == [2, 3] and src.blank_rows == 1


def test_a_delimiter_after_every_row_is_an_empty_last_field(tmp_path):
    rows = [f"A{i};0{i}/02/2020;{i};" for i in range(1, 6)]
    content = "\r\n".join(["Réf;Date;Durée", *rows[:2], "A9;09/02/2020;9;oops", *rows[2:]]) + "\r\n"
    frame, malformed = read(tmp_path, content.encode("cp1252"))
    assert frame["participant_ref"].tolist() == ["A1", "A2", "A3", "A4", "A5"]
    assert frame[readers.ROW].tolist() == [2, 3, 5, 6, 7]
    assert malformed == [{"row": 4, "column": None, "value": None,
                          "reason": "row has 4 fields, expected 3 (a stray ';' or quote?)"}]


@pytest.mark.parametrize("encoding, hint", [("utf-16", "starts with a UTF-16 byte order mark.*encoding: utf-16"),
                                            ("utf-16-le", "mostly NUL bytes.*write 'encoding: utf-16-le'"),
                                            ("utf-16-be", "mostly NUL bytes.*write 'encoding: utf-16-be'")])
def test_utf16_read_as_a_one_byte_encoding_or_utf8_names_the_likely_encoding(tmp_path, encoding, hint):
    content = "Réf;Date;Durée\r\nA1;01/02/2020;1\r\n".encode(encoding)
    for declared in ("utf-8", "cp1252"):
        with pytest.raises(FileProblem, match=rf"neotoa: s.csv: the file .*{hint}"):
            read(tmp_path, content, encoding=declared)
    frame, _ = read(tmp_path, content, encoding=encoding)   # and it reads once declared
    assert frame["participant_ref"].tolist() == ["A1"]


def test_no_reader_turns_missing_words_into_nulls(tmp_path):
    words = ["NA", "Na", "null", "None", "nan", "N/A", "NULL"]
    content = "Réf;Date;Durée\r\n" + "".join(f"{w};01/02/2020;1\r\n" for w in words)
    frame, _ = read(tmp_path, content.encode("cp1252"))
    assert frame["participant_ref"].tolist() == words
    _xlsx(tmp_path / "s.xlsx", [["Réf", "Date", "Durée"]] + [[w, "01/02/2020", 1] for w in words])
    frame, _ = read(tmp_path, None, path="s.xlsx", format="xlsx")
    assert frame["participant_ref"].tolist() == words


def test_xlsx_without_a_sheet_named_reads_the_first_visible_sheet(tmp_path):
    wb = Workbook()
    hidden = wb.active
    hidden.title = "Macros"
    hidden.append(["nothing", "to", "see"])
    hidden.sheet_state = "hidden"
    shown = wb.create_sheet("Séances")
    shown.append(["Réf", "Date", "Durée"])
    shown.append(["A1", "01/02/2020", 1])
    wb.save(tmp_path / "s.xlsx")
    frame, _ = read(tmp_path, None, path="s.xlsx", format="xlsx")
    assert frame["participant_ref"].tolist() == ["A1"]
    with pytest.raises(FileProblem, match=r"the workbook has 1 visible sheet\(s\) and 1 hidden; expected sheet number 2"):
        read(tmp_path, None, path="s.xlsx", format="xlsx", sheet=1)
    frame, _ = read(tmp_path, None, path="s.xlsx", format="xlsx", sheet="Macros", columns={
        "participant_ref": "nothing", "session_date": "to", "duration": "see"})   # named: read, hidden or not
    assert len(frame) == 0


def test_xlsx_formulas_never_calculated_reject_their_rows_saying_so(tmp_path):
    _xlsx(tmp_path / "s.xlsx", [["Réf", "Date", "Durée"], ["A1", "01/02/2020", 1], ["A2", "=TODAY()", 2],
                                ["A3", "02/02/2020", "=B2*0+3"], [None, None, "=1+1"]])
    frame, malformed = read(tmp_path, None, path="s.xlsx", format="xlsx")
    assert frame["participant_ref"].tolist() == ["A1"]
    assert [(m["row"], m["column"]) for m in malformed] == [(3, "Date"), (4, "Durée"), (5, "Durée")]
    assert all("formula that was never calculated" in m["reason"] and "save it" in m["reason"] for m in malformed)


def _patch_xlsx(path: Path, replace: list) -> None:
    """Rewrite parts of a saved workbook, as another program would have written them."""
    import zipfile

    data = {}
    with zipfile.ZipFile(path) as z:
        for item in z.infolist():
            data[item.filename] = z.read(item.filename)
    for part, old, new in replace:
        assert old in data[part], (part, old)
        data[part] = data[part].replace(old, new)
    with zipfile.ZipFile(path, "w") as z:
        for name, content in data.items():
            z.writestr(name, content)


def test_xlsx_formulas_with_stored_values_are_read_and_a_recalculate_on_load_workbook_is_not_trusted(tmp_path):
    path = tmp_path / "s.xlsx"
    _xlsx(path, [["Réf", "Date", "Durée"], ["A1", "01/02/2020", "=1+1"], ["A2", "=IF(1,\"\",\"x\")", 3]])
    sheet, book = "xl/worksheets/sheet1.xml", "xl/workbook.xml"
    # as Excel saves it: the values stored (an empty text result as t="str"), no recalculation asked
    _patch_xlsx(path, replace=[(sheet, b'<c r="C2"><f>1+1</f><v /></c>', b'<c r="C2"><f>1+1</f><v>2</v></c>'),
                               (sheet, b'<c r="B3"><f>IF(1,"","x")</f><v /></c>',
                                b'<c r="B3" t="str"><f>IF(1,"","x")</f><v></v></c>'),
                               (book, b' fullCalcOnLoad="1"', b"")])
    frame, malformed = read(tmp_path, None, path="s.xlsx", format="xlsx")
    assert malformed == [] and frame["duration"].tolist() == ["2", "3"] and frame["session_date"].tolist()[1] == ""
    # a program that stores 0 for every formula and asks for a full recalculation on load
    _patch_xlsx(path, replace=[(book, b"<calcPr ", b'<calcPr fullCalcOnLoad="1" ')])
    frame, malformed = read(tmp_path, None, path="s.xlsx", format="xlsx")
    assert [(m["row"], m["column"]) for m in malformed] == [(2, "Durée"), (3, "Date")]


def test_sheet_cells_become_the_same_text_column_by_column_as_cell_by_cell():
    """readers._text_grid converts whole columns of one type with numpy: the same text as
    _cell_text cell by cell, over random sheets of mixed cell types."""
    import math
    import random
    from datetime import date, datetime

    from increase_eval import readers

    values = [None, math.nan, 1.0, 2.5, -3.0, 1e20, 2.0 ** 53, 0.1, True, False, 3, "x", "", "  a ",
              datetime(2020, 1, 2), datetime(2020, 1, 2, 3, 4, 5), datetime(2020, 1, 2, 0, 0, 0, 1),
              date(2019, 5, 6), math.inf, -0.0, 1e-7, 123456789012.0]
    rng = random.Random(1)
    for _ in range(2000):
        width, n = rng.randint(1, 4), rng.randint(0, 6)
        pools = [rng.sample(values, rng.randint(1, 4)) for _ in range(width)]
        rows = [[rng.choice(pools[c]) for c in range(width)] for _ in range(n)]
        if rows and rng.random() < 0.1:
            rows[0] = rows[0][:-1]     # not a rectangle: row by row
        assert [list(r) for r in readers._text_grid(rows)[0]] == [[readers._cell_text(v) for v in row] for row in rows]
