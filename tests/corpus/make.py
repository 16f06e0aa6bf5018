"""Writes the broken-export corpus beside this file (run it again only to change the
corpus; the files are committed so that the tests read exactly these bytes).
Every name and date here is made up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
H = "Ref,First name,Last name,Date of birth,Ward,Gender,Disability,Joined,Training start"
GOOD = [H,
        "C1,Ann,Example,14/02/1980,Harbour,F,Y,01/03/2019,15/03/2019",
        "C2,Bob,Sample,30/07/1992,Harbour,M,N,15/01/2020,",
        "C3,Cat,Demo,01/01/1975,Harbour,F,N,03/02/2020,10/02/2020"]


def w(name: str, lines: list[str], enc: str = "utf-8", bom: bool = False) -> None:
    data = ("\n".join(lines) + "\n").encode(enc)
    (HERE / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def main() -> None:
    people = ["Ada", "Ben", "Cal", "Dee", "Eli", "Flo", "Gus", "Hal", "Ida", "Jon", "Kim", "Lou", "Max", "Ned",
              "Oli", "Pam", "Quin", "Roy", "Sal", "Tom", "Una", "Val", "Wyn", "Xia"]
    w("base_participants.csv", GOOD)
    w("base_sessions.csv", ["Ref,Date,Minutes", "C1,20/03/2019,60", "C3,12/02/2020,45"])
    (HERE / "empty.csv").write_bytes(b"")
    w("header_only.csv", [H])
    w("wrong_encoding.csv", GOOD[:2] + ["C4,Zoë,Lefèvre,02/03/1985,Harbour,F,N,01/06/2020,"], enc="cp1252")
    w("wrong_delimiter.csv", [line.replace(",", ";") for line in GOOD])
    w("utf8_bom.csv", GOOD, bom=True)
    w("mixed_dates.csv", [H,
                          "C1,Ann,Example,14/02/1980,Harbour,F,Y,2019-03-01,2019-03-15",
                          "C2,Bob,Sample,1992-07-30,Harbour,M,N,15/01/2020,",
                          "C3,Cat,Demo,01/01/1975,Harbour,F,N,3 March 2020,",
                          "C4,Dan,Trial,31/02/1990,Harbour,M,N,01/06/2020,",
                          "C5,Eve,Mock,12/25/1988,Harbour,F,N,01/06/2020,"])
    w("excel_serials.csv", [H,
                            "C1,Ann,Example,29266,Harbour,F,Y,43525,43539",
                            "C2,Bob,Sample,33815,Harbour,M,N,43845,",
                            "C3,Cat,Demo,27395,Harbour,F,N,43864.0,43871"])
    w("dates_1900_2100.csv", [H,
                              "C1,Ann,Example,14/02/1899,Harbour,F,Y,01/03/2019,",
                              "C2,Bob,Sample,30/07/1992,Harbour,M,N,15/01/2101,",
                              "C3,Cat,Demo,01/01/1900,Harbour,F,N,03/02/2020,",
                              "C4,Dan,Trial,01/01/1985,Harbour,M,N,01/01/1901,"])
    w("missing_required_column.csv", [",".join(x for i, x in enumerate(line.split(",")) if i != 7) for line in GOOD])
    w("extra_columns.csv", [H + ",Notes,Favourite colour"] + [line + ",called twice,blue" for line in GOOD[1:]])
    w("duplicate_headers.csv", [H + ",Ref"] + [line + ",X" for line in GOOD[1:]])
    w("tokens.csv", [H,
                     "C1,Ann,Example,14/02/1980,Harbour,N/A,-,01/03/2019,?",
                     "C2,Bob,Sample,30/07/1992,Harbour,M,#REF!,15/01/2020,",
                     "C3,Cat,Demo,#N/A,Harbour,F,N,03/02/2020,",
                     "C4,Dan,Trial,01/01/1985,Harbour,?,N,#VALUE!,"])
    w("negative_sessions.csv", ["Ref,Date,Minutes", "C1,20/03/2019,60", "C1,21/03/2019,-30", "C3,12/02/2020,-",
                                "C2,13/02/2020,0", "C3,14/02/2020,#DIV/0!"])
    w("very_long_strings.csv", [H,
                                "C1,Ann,Example,14/02/1980,Harbour,F,Y,01/03/2019,",
                                "C2," + "B" * 5000 + ",Sample,30/07/1992,Harbour,M,N,15/01/2020,",
                                "C3,Cat,Demo,01/01/1975," + "Harbour " * 2000 + ",F,N,03/02/2020,",
                                "C" + "4" * 3000 + ",Dan,Trial,01/01/1985,Harbour,M,N,01/06/2020,"])
    w("malformed_rows.csv", [H, GOOD[1], "C2,Bob,Sample,30/07/1992,Harbour,M,N,15/01/2020,,surplus,fields", GOOD[3],
                             "C9,only,three"])
    w("same_person_a.csv", [H, "S1,Uma,Twice,05/05/1970,Harbour,F,N,01/03/2019,", "S2,Vic,Once,06/06/1971,Harbour,M,N,01/03/2019,"])
    w("same_person_b.csv", [H, "Z7,UMA,TWICE,1970-05-05,Harbour,F,N,01/09/2019,", "Z8,Wes,Elsewhere,07/07/1972,Harbour,M,N,01/09/2019,"])

    # numbers against the mapping's decimal mark ('.') and the landlord's currency (GBP)
    w("numbers_sessions.csv", ["Ref,Date,Minutes", 'C1,20/03/2019,"12,5"', "C1,21/03/2019,60.5", "C3,12/02/2020,€45",
                               "C3,13/02/2020,£45", 'C3,14/02/2020,"1.234,5"', 'C1,22/03/2019," 45 "'])
    # an extract overlapping the base sessions: one row repeated, one new
    w("sessions_overlap.csv", ["Ref,Date,Minutes", "C3,12/02/2020,45", "C3,13/02/2020,30"])
    # most of a file's amounts with a decimal comma in a '.' file: one file-level line
    w("sessions_decimal_comma.csv", ["Ref,Date,Minutes"] + [f'C1,{d:02d}/04/2019,"{d},5"' for d in range(1, 25)])
    # dates followed by a time of day, ISO with a time zone, Excel serials with a fraction
    w("dates_with_times.csv", [H,
                               "C1,Ann,Example,14/02/1980 00:00,Harbour,F,Y,2019-03-01T09:30:00Z,15/03/2019 14:05",
                               "C2,Bob,Sample,1992-07-30T23:30:00+01:00,Harbour,M,N,43845.604,",
                               "C3,Cat,Demo,27395.25,Harbour,F,N,03/02/2020 08:00:00,"])
    # a NUL byte in a reference, an escape code in a name
    w("control_characters.csv", [H, "C\x001,Ann,Example,14/02/1980,Harbour,F,Y,01/03/2019,",
                                 "C2,Bob\x1b,Sample,30/07/1992,Harbour,M,N,15/01/2020,", GOOD[3]])
    # UTF-16 (no byte order mark) read as UTF-8: mostly NUL bytes
    w("utf16_as_utf8.csv", GOOD, enc="utf-16-le")
    # UTF-8 read as Windows-1252 (the mapping of this case says cp1252)
    w("utf8_as_cp1252.csv", GOOD + ["C4,Zoë,Lefèvre,02/03/1985,Harbour,F,N,01/06/2020,"])
    # surnames and first names that are missing-value words elsewhere
    w("names_like_missing.csv", [H, "N1,Na,Null,03/03/1983,Harbour,F,N,01/06/2020,",
                                 "N2,Nan,None,04/04/1984,Harbour,M,N,01/06/2020,",
                                 "N3,None,NA,05/05/1985,Harbour,F,N,01/06/2020,"])
    # the same people spelt with and without letters that do not decompose (ı, ş, œ, æ, ø)
    w("same_person_folded.csv", [H, "T1,Ayşe,Yıldız,08/08/1978,Harbour,F,N,01/06/2020,",
                                 "T2,AYSE,YILDIZ,08/08/1978,Harbour,F,N,01/07/2020,",
                                 "T3,Œdipe,Lætitia-Søren,09/09/1979,Harbour,M,N,01/06/2020,",
                                 "T4,OEDIPE,LAETITIA SOREN,09/09/1979,Harbour,M,N,01/07/2020,"])
    # a delimiter after the last field of every data row
    w("trailing_delimiter.csv", [H] + [line + "," for line in GOOD[1:]])
    # rows of delimiters only and empty lines are blank, not records; row numbers stay right
    w("delimiter_only_rows.csv", [H, GOOD[1], ",,,,,,,,", GOOD[2], "", ",,,,,,,,", GOOD[3], ",,,,",
                                  "C4,Dan,Trial,31/02/1990,Harbour,M,N,01/06/2020,"])
    # a header split on ',' above rows split on ';': every row malformed, one file-level line
    w("rows_other_delimiter.csv", [H] + [f"W{i};{name};Split;01/01/1983;Harbour;F;N;01/03/2020;"
                                         for i, name in enumerate(people)])
    # a header further down than the first 31 lines
    w("header_row_35.csv", [f"Harbour Homes export, note {i}" for i in range(1, 35)] + GOOD)
    # one header repeated thousands of times: the message stays one short line
    w("header_repeated.csv", [H + ",Ref" * 3000] + [line + ",X" * 3000 for line in GOOD[1:]])
    # most dates written mm/dd/yyyy while the mapping says dd/mm/yyyy: one file-level line
    w("us_dates.csv", [H] + [f"U{i},{name},Trial,01/01/1980,Harbour,F,N,03/{13 + i % 15}/2020,"
                             for i, name in enumerate(people)])
    # an optional column whose few values are mostly mm/dd/yyyy: also one file-level line
    w("us_dates_optional_column.csv", [H] + [f"V{i},{name},Mock,01/01/1981,Harbour,F,N,01/03/2020,"
                                             f"{'03/%d/2020' % (13 + i % 15) if i < 22 else ''}"
                                             for i, name in enumerate(people + [p + "a" for p in people])])

    # --- shapes a mapping reads (each with people of its own, to check the values kept)
    # an X in a column when true, blank when false (blank_is_false); N/A stays unknown
    w("ticked_flags.csv", [H, "K1,Kay,Ticked,02/02/1981,Harbour,F,X,01/03/2019,",
                           "K2,Lee,Unticked,03/03/1982,Harbour,M,,01/03/2019,",
                           "K3,Mo,Unsaid,04/04/1983,Harbour,F,N/A,01/03/2019,",
                           "K4,Nia,Lowercase,05/05/1984,Harbour,F,x,01/03/2019,"])
    # yes/no fields read from category columns; a word in neither list is refused
    w("category_flags.csv", [H + ",Household,Qualifications",
                             "Q1,Pia,Family,06/06/1986,Harbour,F,N,01/03/2019,,Lone parent,None",
                             "Q2,Raj,Family,07/07/1987,Harbour,M,N,01/03/2019,,Couple,GCSE",
                             "Q3,Sue,Family,08/08/1988,Harbour,F,N,01/03/2019,,Single,",
                             "Q4,Tom,Family,09/09/1989,Harbour,M,N,01/03/2019,,Widowed,A level"])
    # a journey-stage column and no training start date
    w("stage_column.csv", [H + ",Stage", "J1,Ava,Staged,01/01/1990,Harbour,F,N,01/03/2019,,In training",
                           "J2,Bo,Staged,02/01/1991,Harbour,M,N,01/03/2019,,Assessed",
                           "J3,Cy,Staged,03/01/1992,Harbour,F,N,01/03/2019,,Training completed",
                           "J4,Di,Staged,04/01/1993,Harbour,M,N,01/03/2019,,Waiting list"])
    # session lengths written with their unit (the mapping says minutes); 1h75 is ambiguous
    w("durations_written.csv", ["Ref,Date,Minutes", "C1,20/03/2019,1h30", "C1,21/03/2019,1h", "C1,22/03/2019,90 min",
                                "C3,12/02/2020,1:30", "C3,13/02/2020,2 heures", "C3,14/02/2020,45",
                                "C3,15/02/2020,1h75"])
    # a mapping in words (country GB, encoding utf8-bom, delimiter '\t', decimal comma,
    # dd/mm/yyyy): a tab-separated register with a byte order mark, and sessions whose
    # '12.50' is in the other decimal mark
    w("mapping_words.tsv", [line.replace(",", "\t") for line in GOOD], bom=True)
    w("sessions_tab_comma.tsv", ["Ref\tDate\tMinutes", "C1\t20/03/2019\t12,5", "C1\t21/03/2019\t12.50",
                                 "C3\t12/02/2020\t45"], bom=True)
    # a rent panel with a neighbourhood column and no tenancies export; no rent due mapped
    w("panel_no_tenancies.csv", ["Tenancy,Month,Rent,Arrears,Estate,Start,End",
                                 "T1,2019-05,400,10.5,Harbour,01/01/2010,", "T1,2019-06,400,20,Harbour,01/01/2010,",
                                 "T2,2019-05,380,0,Harbour,01/01/2015,31/12/2020",
                                 "T2,2019-06,380,-5,Harbour,01/01/2015,31/12/2020",
                                 "T2,2019-06,380,-5,Harbour,01/01/2015,31/12/2020"])
    # business follow-up as still-trading flags at 6 and 12 months, without dates
    w("trading_outcomes.csv", ["Ref,Type,Date", "C1,Business,01/06/2019", "C3,Business,01/03/2020"])
    w("trading_flags.csv", ["Ref,Still trading at 6 months,Still trading at 12 months", "C1,Y,Y", "C3,Y,N", "C2,Y,"])

    wb = Workbook()    # a register kept in Excel: a title block, a totals line and a notes line at the foot
    ws = wb.active
    ws.title = "Register"
    ws.append(["Harbour Homes register"])
    ws.append([])
    for line in GOOD:
        ws.append(line.split(","))
    ws.append([])
    ws.append(["TOTAL", None, None, None, None, None, None, 3])
    ws.append(["Notes: as at 30/06/2023"])
    wb.properties.creator = "increase-eval corpus"
    wb.properties.created = wb.properties.modified = dt.datetime(2024, 1, 1)
    wb.save(HERE / "totals_row.xlsx")

    wb = Workbook()
    ws = wb.active
    ws.title = "Old register"
    ws.append(["Reference", "Name", "Notes"])       # a hidden first sheet: not the one to read
    ws.append(["X1", "Old", "superseded"])
    ws.sheet_state = "hidden"
    ws = wb.create_sheet("Register")
    for line in GOOD:
        ws.append(line.split(","))
    wb.properties.creator = "increase-eval corpus"
    wb.properties.created = wb.properties.modified = dt.datetime(2024, 1, 1)
    wb.save(HERE / "hidden_first_sheet.xlsx")

    wb = Workbook()    # written by a program that does not calculate formulas: no values stored
    ws = wb.active
    ws.title = "Register"
    ws.append(H.split(","))
    for i, name in enumerate(people):
        ws.append([f"F{i}", name, "Formula", "01/01/1982", "Harbour", "F", "N", "=DATE(2020,3,1)+B1*0", None])
    wb.properties.creator = "increase-eval corpus"
    wb.properties.created = wb.properties.modified = dt.datetime(2024, 1, 1)
    wb.save(HERE / "uncalculated_formulas.xlsx")

    wb = Workbook()
    ws = wb.active
    ws.title = "Register"
    ws.append(["Harbour Homes: INCREASE register"])
    ws.merge_cells("A1:I1")
    ws.append(["Exported for the evaluation"])
    ws.merge_cells("A2:D2")
    ws.append([])
    ws.append(H.split(","))
    ws.append(["C1", "Ann", "Example", dt.datetime(1980, 2, 14), "Harbour", "F", "Y", dt.datetime(2019, 3, 1),
               dt.datetime(2019, 3, 15)])
    ws.append(["C2", "Bob", "Sample", "30/07/1992", None, "M", "N", 43845, None])
    ws.append(["C3", "Cat", "Demo", dt.datetime(1975, 1, 1), None, "F", "N", "03/02/2020", "=B2"])
    ws.merge_cells("E5:E7")   # one ward for three rows, as people format registers
    wb.properties.creator = "increase-eval corpus"
    wb.properties.created = wb.properties.modified = dt.datetime(2024, 1, 1)
    wb.save(HERE / "title_rows_merged_cells.xlsx")
    good = (HERE / "title_rows_merged_cells.xlsx").read_bytes()
    (HERE / "corrupted.xlsx").write_bytes(good[: len(good) // 2])


if __name__ == "__main__":
    main()
