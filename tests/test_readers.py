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


def test_utf8_read_as_windows_1252_is_recognised_from_the_headers(tmp_path):
    with pytest.raises(FileProblem, match=r"column 'Réf': required column missing .*UTF-8 text read as Windows-1252"):
        read(tmp_path, "Réf;Date;Durée\r\nA1;01/02/2020;1\r\n".encode("utf-8"), encoding="cp1252")


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
