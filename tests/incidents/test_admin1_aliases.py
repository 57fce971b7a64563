"""The admin1 alias table: every spelling ACLED or UCDP uses lands on one canonical name."""

import csv

import pytest

from risk.config import ADMIN1_ALIASES_PATH
from risk.incidents.places import admin_key, load_admin1_index, load_country_index
from risk.incidents.theatres import Theatres, parse_theatres

# Per country: spelling as ACLED or UCDP writes it (UCDP adds "Governorate", "Province",
# "District") or a common transliteration -> the canonical name in data/admin1_aliases.csv.
SPELLINGS = {
    "SYR": {
        "Idleb": "Idlib", "Idlib Governorate": "Idlib",
        "Hama": "Hama", "Hamah Governorate": "Hama",
        "Dara": "Daraa", "Daraa Governorate": "Daraa", "Dar'a": "Daraa",
        "Rural Damascus": "Rural Damascus", "Rif Dimashq Governorate": "Rural Damascus",
        "Damascus": "Damascus", "Damascus Governorate": "Damascus",
        "Lattakia": "Latakia", "Latakia Governorate": "Latakia",
        "Tartous": "Tartus", "Tartus Governorate": "Tartus",
        "As-Sweida": "As Suwayda", "As Sweida": "As Suwayda",
        "As Suwayda Governorate": "As Suwayda",
        "Ar-Raqqa": "Ar Raqqa", "Ar Raqqa": "Ar Raqqa", "Ar Raqqah Governorate": "Ar Raqqa",
        "Al-Hasakeh": "Al Hasakah", "Al Hasakeh": "Al Hasakah",
        "Al Hasakah Governorate": "Al Hasakah",
        "Aleppo": "Aleppo", "Aleppo Governorate": "Aleppo",
        "Homs": "Homs", "Homs Governorate": "Homs",
        "Deir-ez-Zor": "Deir ez Zor", "Deir ez Zor Governorate": "Deir ez Zor",
        "Dayr az Zawr": "Deir ez Zor",
        "Quneitra": "Quneitra", "Quneitra Governorate": "Quneitra",
    },
    "IRQ": {
        "Al Anbar": "Anbar", "Al Anbar Governorate": "Anbar", "Anbar": "Anbar",
        "Babil": "Babil", "Babil Governorate": "Babil",
        "Baghdad": "Baghdad", "Baghdad Governorate": "Baghdad",
        "Basrah": "Basra", "Al Basrah Governorate": "Basra", "Basra": "Basra",
        "Dhi-Qar": "Dhi Qar", "Dhi Qar Governorate": "Dhi Qar", "Thi Qar": "Dhi Qar",
        "Diyala": "Diyala", "Diyala Governorate": "Diyala",
        "Duhok": "Dohuk", "Dahuk Governorate": "Dohuk",
        "Erbil": "Erbil", "Arbil Governorate": "Erbil",
        "Halabja": "Halabja",
        "Kerbala": "Karbala", "Karbala Governorate": "Karbala",
        "Kirkuk": "Kirkuk", "Kirkuk Governorate": "Kirkuk", "At-Ta'mim": "Kirkuk",
        "Missan": "Maysan", "Maysan Governorate": "Maysan",
        "Muthanna": "Muthanna", "Al Muthanna Governorate": "Muthanna",
        "Najaf": "Najaf", "An Najaf Governorate": "Najaf",
        "Ninewa": "Ninewa", "Ninawa Governorate": "Ninewa", "Nineveh": "Ninewa",
        "Al-Qadissiya": "Qadisiyah", "Al Qadisiyah Governorate": "Qadisiyah",
        "Salah al-Din": "Salah al-Din", "Sala ad-Din": "Salah al-Din",
        "Salah ad Din Governorate": "Salah al-Din",
        "Sulaymaniyah": "Sulaymaniyah", "As Sulaymaniyah Governorate": "Sulaymaniyah",
        "Wassit": "Wasit", "Wasit Governorate": "Wasit",
    },
    "LBN": {
        "Akkar": "Akkar", "Akkar Governorate": "Akkar",
        "Baalbek-Hermel": "Baalbek-Hermel", "Baalbek-Hermel Governorate": "Baalbek-Hermel",
        "Beirut": "Beirut", "Beirut Governorate": "Beirut",
        "Bekaa": "Beqaa", "Beqaa Governorate": "Beqaa",
        "Mount Lebanon": "Mount Lebanon", "Mount Lebanon Governorate": "Mount Lebanon",
        "Nabatiyeh": "Nabatieh", "Nabatieh Governorate": "Nabatieh",
        "North": "North", "North Governorate": "North", "North Lebanon": "North",
        "South": "South", "South Governorate": "South", "South Lebanon": "South",
    },
    "ISR": {
        "HaZafon": "Northern", "Northern District": "Northern", "North District": "Northern",
        "Haifa": "Haifa", "Haifa District": "Haifa",
        "HaMerkaz": "Central", "Central District": "Central", "Center District": "Central",
        "Tel Aviv": "Tel Aviv", "Tel Aviv District": "Tel Aviv",
        "Jerusalem": "Jerusalem", "Jerusalem District": "Jerusalem",
        "HaDarom": "Southern", "Southern District": "Southern", "South District": "Southern",
        "Golan": "Golan", "Golan Heights": "Golan",
    },
    "PSE": {
        "Gaza Strip": "Gaza Strip", "Gaza": "Gaza Strip", "North Gaza Governorate": "Gaza Strip",
        "Khan Yunis Governorate": "Gaza Strip", "Rafah Governorate": "Gaza Strip",
        "Deir al-Balah Governorate": "Gaza Strip", "Gaza Governorate": "Gaza Strip",
        "West Bank": "West Bank", "Hebron Governorate": "West Bank",
        "Nablus Governorate": "West Bank", "Jenin Governorate": "West Bank",
        "Ramallah and al-Bireh Governorate": "West Bank", "Tulkarm Governorate": "West Bank",
    },
    "YEM": {
        "Abyan": "Abyan", "Abyan Governorate": "Abyan",
        "Aden": "Aden", "Aden Governorate": "Aden", "'Adan": "Aden",
        "Al Bayda": "Al Bayda", "Al Bayda' Governorate": "Al Bayda", "Al Baida": "Al Bayda",
        "Ad Dali": "Al Dhale'e", "Ad Dali' Governorate": "Al Dhale'e", "Al Dhale'e": "Al Dhale'e",
        "Al Hudaydah": "Al Hudaydah", "Al Hudaydah Governorate": "Al Hudaydah",
        "Hodeidah Governorate": "Al Hudaydah",
        "Al Jawf": "Al Jawf", "Al Jawf Governorate": "Al Jawf",
        "Al Mahrah": "Al Mahrah", "Al Mahrah Governorate": "Al Mahrah",
        "Al Mahwit": "Al Mahwit", "Al Mahwit Governorate": "Al Mahwit",
        "Amanat al Asimah": "Amanat al Asimah", "Amanat Al Asimah Governorate": "Amanat al Asimah",
        "Sanaa City": "Amanat al Asimah",
        "Amran": "Amran", "'Amran Governorate": "Amran",
        "Dhamar": "Dhamar", "Dhamar Governorate": "Dhamar",
        "Hadramawt": "Hadramawt", "Hadramaut Governorate": "Hadramawt",
        "Hajjah": "Hajjah", "Hajjah Governorate": "Hajjah",
        "Ibb": "Ibb", "Ibb Governorate": "Ibb",
        "Lahij": "Lahj", "Lahij Governorate": "Lahj", "Lahj": "Lahj",
        "Marib": "Marib", "Ma'rib Governorate": "Marib",
        "Raymah": "Raymah", "Raymah Governorate": "Raymah",
        "Sadah": "Sa'dah", "Sa'dah Governorate": "Sa'dah", "Saada": "Sa'dah",
        "Sanaa": "Sanaa", "Sana'a Governorate": "Sanaa",
        "Shabwah": "Shabwah", "Shabwah Governorate": "Shabwah",
        "Socotra": "Socotra", "Socotra Governorate": "Socotra",
        "Taizz": "Taiz", "Ta'izz Governorate": "Taiz", "Taiz": "Taiz",
    },
    "IRN": {
        "Tehran": "Tehran", "Tehran Province": "Tehran",
        "Khuzestan": "Khuzestan", "Khuzestan Province": "Khuzestan",
        "Sistan and Baluchestan": "Sistan and Baluchestan",
        "Sistan and Baluchestan Province": "Sistan and Baluchestan",
        "Kurdistan": "Kurdistan", "Kordestan Province": "Kurdistan",
        "Kermanshah": "Kermanshah", "Kermanshah Province": "Kermanshah",
        "West Azerbaijan": "West Azerbaijan", "West Azarbaijan Province": "West Azerbaijan",
        "East Azerbaijan": "East Azerbaijan", "East Azarbaijan Province": "East Azerbaijan",
        "Isfahan": "Isfahan", "Esfahan Province": "Isfahan",
        "Razavi Khorasan": "Razavi Khorasan", "Khorasan-e Razavi Province": "Razavi Khorasan",
        "Kohgiluyeh and Boyer-Ahmad": "Kohgiluyeh and Boyer-Ahmad",
        "Kohgiluyeh and Buyer Ahmad Province": "Kohgiluyeh and Boyer-Ahmad",
        "Chaharmahal and Bakhtiari": "Chaharmahal and Bakhtiari",
        "Chahar Mahall and Bakhtiari Province": "Chaharmahal and Bakhtiari",
        "Lorestan": "Lorestan", "Gilan": "Gilan", "Hormozgan": "Hormozgan",
        "Fars": "Fars", "Ilam": "Ilam", "Alborz": "Alborz", "Qom": "Qom",
    },
    "JOR": {
        "Ajloun": "Ajloun", "Ajlun Governorate": "Ajloun",
        "Amman": "Amman", "Amman Governorate": "Amman",
        "Aqaba": "Aqaba", "Aqaba Governorate": "Aqaba",
        "Balqa": "Balqa", "Al Balqa Governorate": "Balqa",
        "Irbid": "Irbid", "Irbid Governorate": "Irbid",
        "Jerash": "Jerash", "Jarash Governorate": "Jerash",
        "Karak": "Karak", "Al Karak Governorate": "Karak",
        "Ma'an": "Ma'an", "Ma'an Governorate": "Ma'an",
        "Madaba": "Madaba", "Madaba Governorate": "Madaba",
        "Mafraq": "Mafraq", "Al Mafraq Governorate": "Mafraq",
        "Tafilah": "Tafilah", "At Tafilah Governorate": "Tafilah",
        "Zarqa": "Zarqa", "Az Zarqa Governorate": "Zarqa",
    },
    "SAU": {
        "Riyadh": "Riyadh", "Ar Riyad Province": "Riyadh",
        "Makkah": "Makkah", "Makkah Province": "Makkah", "Mecca": "Makkah",
        "Madinah": "Madinah", "Al Madinah Province": "Madinah",
        "Eastern Province": "Eastern Province", "Ash Sharqiyah Province": "Eastern Province",
        "Qassim": "Qassim", "Al Qasim Province": "Qassim",
        "Hail": "Hail", "Ha'il Province": "Hail",
        "Tabuk": "Tabuk", "Tabuk Province": "Tabuk",
        "Northern Borders": "Northern Borders",
        "Al Hudud ash Shamaliyah Province": "Northern Borders",
        "Jizan": "Jizan", "Jazan Province": "Jizan",
        "Najran": "Najran", "Najran Province": "Najran",
        "Al Bahah": "Al Bahah", "Al Bahah Province": "Al Bahah",
        "Al Jawf": "Al Jawf", "Al Jawf Province": "Al Jawf",
        "Asir": "Asir", "'Asir Province": "Asir",
    },
    "TUR": {
        "Sanliurfa": "Sanliurfa", "Şanlıurfa Province": "Sanliurfa",
        "Hakkari": "Hakkari", "Hakkâri Province": "Hakkari",
        "Sirnak": "Sirnak", "Şırnak Province": "Sirnak",
        "Diyarbakir": "Diyarbakir", "Diyarbakır Province": "Diyarbakir",
        "Mardin": "Mardin", "Mardin Province": "Mardin",
        "Hatay": "Hatay", "Hatay Province": "Hatay",
        "Kilis": "Kilis", "Gaziantep": "Gaziantep", "Gaziantep Province": "Gaziantep",
        "Istanbul": "Istanbul", "İstanbul Province": "Istanbul",
        "Ankara": "Ankara", "Van": "Van", "Batman": "Batman", "Siirt": "Siirt",
        "Bitlis": "Bitlis", "Mus": "Mus", "Muş Province": "Mus",
        "Tunceli": "Tunceli", "Bingol": "Bingol", "Bingöl Province": "Bingol",
        "Agri": "Agri", "Ağrı Province": "Agri", "Igdir": "Igdir", "Iğdır Province": "Igdir",
        "Kahramanmaras": "Kahramanmaras", "Kahramanmaraş Province": "Kahramanmaras",
        "Elazig": "Elazig", "Elazığ Province": "Elazig",
        "Mersin": "Mersin", "Izmir": "Izmir", "İzmir Province": "Izmir",
    },
    "EGY": {
        "North Sinai": "North Sinai", "Shamal Sina' Governorate": "North Sinai",
        "South Sinai": "South Sinai", "Janub Sina' Governorate": "South Sinai",
        "Cairo": "Cairo", "Al Qahirah Governorate": "Cairo",
        "Giza": "Giza", "Al Jizah Governorate": "Giza",
        "Alexandria": "Alexandria", "Al Iskandariyah Governorate": "Alexandria",
        "Ismailia": "Ismailia", "Al Isma'iliyah Governorate": "Ismailia",
        "Suez": "Suez", "As Suways Governorate": "Suez",
        "Port Said": "Port Said", "Bur Sa'id Governorate": "Port Said",
        "Minya": "Minya", "Al Minya Governorate": "Minya",
        "Asyut": "Asyut", "Asyut Governorate": "Asyut", "Assiut": "Asyut",
        "Sharqia": "Sharqia", "Ash Sharqiyah Governorate": "Sharqia",
        "Dakahlia": "Dakahlia", "Ad Daqahliyah Governorate": "Dakahlia",
        "Qalyubia": "Qalyubia", "Al Qalyubiyah Governorate": "Qalyubia",
        "Matrouh": "Matrouh", "Matruh Governorate": "Matrouh",
        "New Valley": "New Valley", "Al Wadi al Jadid Governorate": "New Valley",
        "Red Sea": "Red Sea", "Al Bahr al Ahmar Governorate": "Red Sea",
        "Faiyum": "Faiyum", "Al Fayyum Governorate": "Faiyum",
        "Sohag": "Sohag", "Suhaj Governorate": "Sohag",
        "Qena": "Qena", "Qina Governorate": "Qena",
        "Luxor": "Luxor", "Al Uqsur Governorate": "Luxor",
    },
}  # fmt: skip

# Admin1 units per country (first-level divisions), to check the table is complete.
UNITS = {
    "SYR": 14, "IRQ": 19, "LBN": 8, "ISR": 7, "PSE": 2, "YEM": 22, "IRN": 31, "JOR": 12,
    "SAU": 13, "TUR": 81, "EGY": 27,
}  # fmt: skip


@pytest.mark.parametrize("country", sorted(SPELLINGS))
def test_every_acled_and_ucdp_spelling_lands_on_its_canonical_name(country):
    index = load_admin1_index()
    wrong = {
        spelling: index.canonical(country, spelling)
        for spelling, canonical in SPELLINGS[country].items()
        if index.canonical(country, spelling) != canonical
    }
    assert wrong == {}


@pytest.mark.parametrize("country", sorted(UNITS))
def test_table_has_each_countrys_units_once(country):
    assert len(load_admin1_index().names(country)) == UNITS[country]


def test_no_spelling_is_claimed_by_two_places_of_one_country():
    claimed: dict[tuple[str, str], str] = {}
    clashes = []
    with open(ADMIN1_ALIASES_PATH, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    countries = load_country_index()
    for row in rows:
        assert countries.is_known(row["iso3"]), row
        for alias in [row["admin1"], *row["aliases"].split("|")]:
            key = (row["iso3"], admin_key(alias))
            if key[1] and claimed.setdefault(key, row["admin1"]) != row["admin1"]:
                clashes.append((alias, claimed[key], row["admin1"]))
    assert clashes == []


def test_a_theatre_written_in_ucdp_spelling_matches_acled_spelling():
    theatres = Theatres(
        parse_theatres(
            {"theatre": [{"name": "Idlib", "regions": ["Syria/Idlib Governorate"]}]}, "test"
        )
    )
    assert theatres.place_theatre("Syria", "Idleb") == 0
    assert theatres.place_theatre("Syrian Arab Republic", "Idlib") == 0
    assert theatres.place_theatre("Syria", "Hama") is None
