"""Write the malformed-input corpus in this folder (deterministic; rerun to regenerate).

    .venv/bin/python tests/data/bad/make_corpus.py

Each file is one way incident files go wrong in the wild; tests/test_bad_input.py says what
must happen to each. Large cases are stored compressed (the loader reads gzip transparently).
"""

import gzip
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
ACLED = (
    "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,"
    "actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,"
    "iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,"
    "source_scale,notes,fatalities,tags,timestamp"
)
NATIVE = "id,date,country,admin1,location,latitude,longitude,event_type,actor1,actor2,fatalities,notes,source"


def q(text: str) -> str:
    """A quoted CSV field."""
    return '"' + text.replace('"', '""') + '"'


def acled_row(
    i: int,
    date: str = "2024-01-20",
    fatalities: str = "1",
    lat: str = "33.3",
    lon: str = "44.4",
    notes: str = "Clash reported.",
) -> str:
    return (
        f"IRQ{i},{date},2024,1,Political violence,Battles,Armed clash,Military Forces of Iraq,,"
        f"State forces,Islamic State (Iraq),,Rebel group,State forces-Rebel group,,368,"
        f"Middle East,Iraq,Baghdad,Baghdad,,Baghdad,{lat},{lon},1,Reuters,National,"
        f"{q(notes)},{fatalities},,1705900000"
    )


def native_row(
    i: int,
    date: str = "2024-01-20",
    fatalities: str = "0",
    notes: str = "x",
    actor: str = "Ansar Allah",
    country: str = "Yemen",
) -> str:
    return (
        f"n{i},{date},{country},Hodeidah,Red Sea,15.2,41.5,remote_violence,{q(actor)},,"
        f"{fatalities},{q(notes)},UKMTO"
    )


def good_acled(rows: int = 3) -> list[str]:
    return [acled_row(i) for i in range(1, rows + 1)]


def write(name: str, data: str | bytes) -> None:
    (HERE / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def lines(*rows: str, end: str = "\n") -> str:
    return end.join(rows) + end


def main() -> None:
    rng = random.Random(7)
    write("01_empty.csv", b"")
    write("02_header_only.csv", lines(ACLED))
    write("03_blank_lines_only.csv", "\n\n\n   \n")
    write("04_binary.csv", bytes(rng.randrange(256) for _ in range(4096)))
    write(
        "05_html_error_page.csv",
        "<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>\n",
    )
    write("06_json.csv", '{"status": 200, "data": [{"event_id_cnty": "IRQ1"}]}\n')
    write("07_pdf.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    write("08_unknown_format.csv", lines("when,where,what", "2024-01-20,Baghdad,shelling"))
    write(
        "09_acled_missing_fatalities.csv",
        lines(
            ACLED.replace(",fatalities", ""),
            *[r.replace(",1,,1705900000", ",,1705900000") for r in good_acled()],
        ),
    )
    write(
        "10_ucdp_missing_best.csv",
        lines("id,date_start,type_of_violence,country", "1,2024-01-20,1,Syria"),
    )
    write(
        "11_ambiguous_dates.csv",
        lines(ACLED, acled_row(1, "03/04/2024"), acled_row(2, "05/06/2024")),
    )
    write(
        "12_mixed_date_orders.csv",
        lines(ACLED, acled_row(1, "25/01/2024"), acled_row(2, "01/25/2024")),
    )
    write(
        "13_unparseable_dates.csv",
        lines(ACLED, acled_row(1), acled_row(2, "yesterday"), acled_row(3, "2024-02-30")),
    )
    write("14_future_dates.csv", lines(ACLED, acled_row(1), acled_row(2, "2099-01-01")))
    write(
        "15_dates_1900_and_2100.csv",
        lines(ACLED, acled_row(1), acled_row(2, "1900-01-01"), acled_row(3, "2100-06-01")),
    )
    write(
        "16_coordinates_out_of_range.csv",
        lines(ACLED, acled_row(1), acled_row(2, lat="95.1"), acled_row(3, lon="-181")),
    )
    write("17_negative_fatalities.csv", lines(ACLED, acled_row(1), acled_row(2, fatalities="-4")))
    write(
        "18_non_numeric_fatalities.csv",
        lines(
            ACLED, acled_row(1), acled_row(2, fatalities="dozens"), acled_row(3, fatalities="1,200")
        ),
    )
    write("19_duplicate_ids.csv", lines(ACLED, acled_row(1), acled_row(2), acled_row(1)))
    write(
        "20_field_of_200k_characters.csv",
        lines(ACLED, acled_row(1), acled_row(2, notes="x" * 200_000)),
    )
    write("21_truncated_last_line.csv", lines(ACLED, *good_acled(2)) + acled_row(3)[:60])
    write(
        "22_unterminated_quote.csv",
        lines(ACLED, *good_acled(2)) + acled_row(3).replace('"Clash reported."', '"Clash rep'),
    )  # noqa: E501
    write(
        "23_latin1.csv",
        lines(NATIVE, native_row(1, notes="Café bombing near the souk")).encode("latin-1"),
    )
    write("24_utf16.csv", lines(NATIVE, native_row(1)).encode("utf-16"))
    write("25_nul_bytes.csv", lines(NATIVE, native_row(1)).replace("Ansar", "An\0sar"))
    write(
        "26_mixed_line_endings.csv",
        ACLED + "\r\n" + acled_row(1) + "\n" + acled_row(2) + "\r\n" + acled_row(3) + "\n",
    )
    wide_header = NATIVE + "," + ",".join(f"extra_{i}" for i in range(10_000))
    write("27_ten_thousand_columns.csv", lines(wide_header, native_row(1) + "," * 10_000))
    write(
        "28_million_empty_lines.csv.gz",
        gzip.compress(
            lines(NATIVE, native_row(1)).encode()
            + b"\n" * 1_000_000
            + lines(native_row(2)).encode(),
            mtime=0,
        ),
    )
    write(
        "29_formula_cells.csv",
        lines(
            NATIVE,
            native_row(1, actor='=HYPERLINK("http://evil.example","click")'),
            native_row(2, notes="+cmd|' /C calc'!A0"),
            native_row(3, actor="@SUM(1+1)"),
        ),
    )
    write(
        "30_html_and_script_in_notes.csv",
        lines(
            NATIVE,
            native_row(
                1,
                notes="<script>alert(document.cookie)</script><b>bold</b><img src=x onerror=alert(1)>",
            ),
        ),
    )
    write(
        "31_arabic_right_to_left.csv",
        lines(
            NATIVE,
            native_row(
                1,
                actor="أنصار الله",
                notes="هجوم صاروخي على سفينة تجارية في البحر الأحمر",
                country="اليمن",
            ),
            native_row(2, actor="\u202eevil\u202c"),
        ),
    )
    write(
        "32_semicolon_separated.csv",
        lines(NATIVE.replace(",", ";"), native_row(1).replace(",", ";")),
    )
    write(
        "33_tab_separated.tsv", lines(NATIVE.replace(",", "\t"), native_row(1).replace(",", "\t"))
    )
    write("34_excel_serial_dates.csv", lines(ACLED, acled_row(1), acled_row(2, "45311")))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.csv", lines(NATIVE, native_row(1)))
        handle.writestr("b.csv", lines(NATIVE, native_row(2)))
    write("35_zip_with_two_csvs.zip", archive.getvalue())
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as handle:
        handle.writestr("[Content_Types].xml", "<Types/>")
        handle.writestr("xl/workbook.xml", "<workbook/>")
    write("36_excel_workbook.xlsx", workbook.getvalue())
    write(
        "37_corrupt_gzip.csv.gz", gzip.compress(lines(NATIVE, native_row(1)).encode(), mtime=0)[:25]
    )
    write("38_latitude_without_longitude.csv", lines(NATIVE, native_row(1).replace(",41.5,", ",,")))
    write(
        "39_utf8_bom_and_spaces_in_header.csv",
        "\ufeff" + lines(" ID , Date ,Country,Event Type,Fatalities", "a,2024-01-20,Iraq,battle,1"),
    )
    write(
        "40_quoted_newlines_and_commas.csv",
        lines(ACLED, acled_row(1, notes='Line one,\nline "two",\nline three')),
    )


if __name__ == "__main__":
    main()
