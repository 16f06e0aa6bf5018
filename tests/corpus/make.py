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
