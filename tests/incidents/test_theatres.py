import pandas as pd
import pytest

from risk.incidents.places import admin_key, load_country_index
from risk.incidents.theatres import OTHER, TheatreFileError, Theatres, load_theatres, parse_theatres

DEFAULT = "data/theatres.toml"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Homs Governorate", "Homs"),
        ("Al Anbar", "Anbar"),
        ("Al-Anbar Governorate", "anbar"),
        ("Ta'izz Governorate", "Taizz"),
        ("Sistan and Baluchestan Province", "Sistan and Baluchestan"),
        ("Dar'a", "Dara"),
    ],
)
def test_admin_keys_forgive_suffixes_articles_and_punctuation(a, b):
    assert admin_key(a) == admin_key(b)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Yemen (North Yemen)", "YEM"),
        ("yemen", "YEM"),
        ("YEM", "YEM"),
        ("Syrian Arab Republic", "SYR"),
        ("Iran, Islamic Republic of", "IRN"),
        ("State of Palestine", "PSE"),
        ("Türkiye", "TUR"),
    ],
)
def test_country_keys_join_spellings_and_codes(name, code):
    assert load_country_index().key(name) == code


def test_default_file_has_the_six_theatres_in_order():
    theatres = load_theatres(DEFAULT)
    assert theatres.names == [
        "Iraq",
        "Syria",
        "Lebanon & northern Israel",
        "Israel & Palestine",
        "Yemen & Red Sea",
        "Iran",
        OTHER,
    ]


def frame(rows):
    return pd.DataFrame(rows, columns=["country", "admin1", "latitude", "longitude"])


def test_first_matching_theatre_wins_and_unmatched_is_other():
    theatres = load_theatres(DEFAULT)
    assigned = theatres.assign(
        frame(
            [
                ("Israel", "HaZafon", 33.2, 35.57),  # northern Israel -> Lebanon theatre
                ("Israel", "Northern District", None, None),
                ("Israel", "Tel Aviv", 32.08, 34.78),
                ("Palestine", "Gaza Strip", 31.5, 34.45),
                ("Yemen (North Yemen)", "Hodeidah Governorate", None, None),
                ("Saudi Arabia", "Jizan", 16.9, 42.55),
                ("Saudi Arabia", "Riyadh", 24.7, 46.7),
                (None, None, 15.2, 41.5),  # at sea, Red Sea channel
                ("Eritrea", "Southern Red Sea", 13.0, 42.74),  # Assab: coast, not the sea
                ("Jordan", "Mafraq", 33.3, 38.7),
                ("IRQ", None, None, None),
            ]
        )
    )
    assert assigned.tolist() == [
        "Lebanon & northern Israel",
        "Lebanon & northern Israel",
        "Israel & Palestine",
        "Israel & Palestine",
        "Yemen & Red Sea",
        "Yemen & Red Sea",
        OTHER,
        "Yemen & Red Sea",
        OTHER,
        OTHER,
        "Iraq",
    ]


def test_a_box_before_a_country_match_claims_the_event():
    theatres = Theatres(
        parse_theatres(
            {
                "theatre": [
                    {"name": "Sea", "bbox": [40.0, 10.0, 45.0, 20.0]},
                    {"name": "Yemen", "countries": ["Yemen"]},
                ]
            },
            "test",
        )
    )
    assigned = theatres.assign(
        frame([("Yemen", "Hodeidah", 15.0, 42.0), ("Yemen", "Marib", 15.5, 45.3)])
    )
    assert assigned.tolist() == ["Sea", "Yemen"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "no theatres"),
        ({"theatre": [{"countries": ["Iraq"]}]}, "needs a name"),
        ({"theatre": [{"name": "A", "countrys": ["Iraq"]}]}, "unknown key\\(s\\) countrys"),
        ({"theatre": [{"name": "A"}]}, "give countries, regions or a bbox"),
        ({"theatre": [{"name": "A", "countries": "Iraq"}]}, "must be a list"),
        ({"theatre": [{"name": "A", "regions": ["Iraq"]}]}, "'Country/admin1'"),
        ({"theatre": [{"name": "A", "bbox": [1, 2, 3]}]}, "four numbers"),
        ({"theatre": [{"name": "A", "bbox": [50, 2, 40, 10]}]}, "lon_min < lon_max"),
        ({"theatre": [{"name": "Other", "countries": ["Iraq"]}]}, "reserved"),
        (
            {
                "theatre": [
                    {"name": "A", "countries": ["Iraq"]},
                    {"name": "a", "countries": ["Syria"]},
                ]
            },
            "used twice",
        ),
        ({"theatres": []}, "unknown top-level"),
    ],
)
def test_bad_theatre_files_name_file_theatre_and_problem(document, message):
    with pytest.raises(TheatreFileError, match=message):
        parse_theatres(document, "my.toml")


def test_unreadable_theatre_files(tmp_path):
    with pytest.raises(TheatreFileError, match="not found"):
        load_theatres(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[theatre]\nname=1")
    with pytest.raises(TheatreFileError, match="not valid TOML"):
        load_theatres(broken)
