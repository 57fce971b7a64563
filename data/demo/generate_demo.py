"""Generate the SIMULATED demo incident file ``data/demo/acled_demo.csv.gz``.

THIS IS SIMULATED DATA, NOT ACLED DATA: no ACLED row is copied or shipped. It simulates three years
(2022-01-01 .. 2024-12-31) of events in six theatres (Iraq; Syria; Lebanon & northern Israel;
Israel & Palestine; Yemen & Red Sea; Iran) in the 31-column ACLED export layout, so the dashboard's
ACLED loader reads it unchanged. Actor and place names and the public timeline of episodes (Gaza war
from 7 Oct 2023, Lebanon-Israel border from 8 Oct 2023, attacks on US forces Oct 2023 - Feb 2024,
Red Sea shipping attacks from 19 Nov 2023, US/UK strikes in Yemen from 12 Jan 2024, the 20 Jan 2024
regional day, Iran-Israel exchanges in April and October 2024, the Syrian offensive of 27 Nov - 8 Dec
2024, Iran's 2022 protests, Yemen's April 2022 truce, ...) are public knowledge; every count, day,
coordinate, actor pairing and fatality figure is drawn at random.

How: ``COMPONENTS`` lists event kinds (type, actors, fatality profile) whose expected weekly rate
follows piecewise-linear knots (episodes), spread over admin1 units by weight; ``spike`` components
put events on given days. Each admin1 has a latent log-intensity: AR(1) (persistence 0.8) plus local
and theatre-wide flare-ups and quiet stretches. About half the flare-ups have a 1-3 week precursor
(rising counts, more fatalities per event, more distinct actors); the rest come out of the blue. A
surge in one theatre raises flare-up odds in linked theatres for four weeks (Iraq<->Syria,
Lebanon<->Israel & Palestine, Yemen<->Israel & Palestine). Weekly counts per (component, admin1) are
negative binomial around the latent intensity; each event then gets a day, a town with jitter,
actors, fatalities (mostly 0, heavy tail), sources and a revision timestamp a few days later.

Deterministic: fixed seed, rows sorted by event_date then event_id_cnty, gzip mtime 0, so
``.venv/bin/python data/demo/generate_demo.py`` rewrites the file byte-identically.
"""

# The event tables below are data, one record a line: they are kept unwrapped and unformatted.
# ruff: noqa: E501
from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240120
OUT = Path(__file__).with_name("acled_demo.csv.gz")
START, END = pd.Timestamp("2022-01-01"), pd.Timestamp("2024-12-31")
DAYS = pd.date_range(START, END, freq="D")
D = len(DAYS)
W = (D + 6) // 7  # weeks start on Saturdays (ACLED's week), the last one is partial

# fmt: off
COLUMNS = ["event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type", "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2",
           "inter2", "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities", "tags", "timestamp"]

COUNTRIES = {  # code: (ACLED name, ISO numeric)
    "IRQ": ("Iraq", 368), "SYR": ("Syria", 760), "LBN": ("Lebanon", 422), "ISR": ("Israel", 376),
    "PSE": ("Palestine", 275), "YEM": ("Yemen", 887), "IRN": ("Iran", 364), "SAU": ("Saudi Arabia", 682)}

# --- gazetteer: country|admin1|location,admin2,lat,lon,weight[,jitter_lat,jitter_lon];...
# weight 0 = used only when a component names the site (bases, sea areas).
GAZETTEER = """
IRQ|Al Anbar|Ramadi,Ramadi,33.42,43.30,3;Fallujah,Fallujah,33.35,43.78,2;Heet,Heet,33.64,42.83,1;Al-Qaim,Al-Qaim,34.38,41.09,1;Rutba,Al-Rutba,33.04,40.28,1;Ain al-Asad Air Base,Heet,33.80,42.44,0
IRQ|Baghdad|Baghdad - Karkh,Karkh,33.31,44.37,3;Baghdad - Rusafa,Rusafa,33.34,44.42,3;Abu Ghraib,Abu Ghraib,33.29,44.07,1;Tarmiyah,Tarmia,33.67,44.39,1;Mahmudiyah,Mahmudiya,33.06,44.36,1;Victoria Base,Karkh,33.26,44.23,0
IRQ|Ninewa|Mosul,Mosul,36.34,43.13,3;Sinjar,Sinjar,36.32,41.87,2;Tal Afar,Tel Afar,36.37,42.45,1;Baaj,Al-Baaj,36.04,41.73,1
IRQ|Salah al-Din|Tikrit,Tikrit,34.61,43.68,2;Samarra,Samarra,34.20,43.87,2;Baiji,Baiji,34.93,43.49,1;Tuz Khurmatu,Tooz,34.89,44.63,2;Balad,Balad,34.01,44.15,1
IRQ|Diyala|Baquba,Baquba,33.75,44.64,2;Muqdadiyah,Al-Muqdadiya,33.98,44.94,2;Khanaqin,Khanaqin,34.35,45.39,1;Khalis,Al-Khalis,33.84,44.53,1
IRQ|Kirkuk|Kirkuk,Kirkuk,35.47,44.39,3;Hawija,Al-Hawiga,35.32,43.77,2;Daquq,Daquq,35.13,44.45,1;Dibis,Dibis,35.64,44.07,1
IRQ|Erbil|Erbil,Erbil,36.19,44.01,3;Sidakan,Soran,36.80,44.62,2;Koya,Koysinjaq,36.08,44.63,1;Harir,Shaqlawa,36.55,44.35,1;Makhmur,Makhmur,35.78,43.58,1
IRQ|Duhok|Amedi,Amedi,37.09,43.49,3;Zakho,Zakho,37.14,42.68,2;Batifa,Zakho,37.18,43.01,2;Kani Masi,Amedi,37.23,43.43,2;Duhok,Duhok,36.87,42.99,1
IRQ|Sulaymaniyah|Sulaymaniyah,Sulaymaniyah,35.56,45.43,3;Penjwen,Penjwin,35.62,45.94,1;Qaladiza,Pshdar,36.18,45.12,1;Chamchamal,Chamchamal,35.53,44.83,1
IRQ|Basrah|Basrah,Basrah,30.51,47.81,3;Zubair,Al-Zubair,30.39,47.70,1;Qurna,Al-Qurna,31.01,47.43,1;Abu al-Khasib,Abu Al-Khaseeb,30.45,48.00,1
IRQ|Babil|Hilla,Hilla,32.48,44.42,3;Jurf al-Sakhar,Al-Musayab,32.87,44.17,1;Musayyib,Al-Musayab,32.78,44.29,1
IRQ|Dhi-Qar|Nasiriyah,Al-Nasiriya,31.05,46.26,3;Shatra,Al-Shatra,31.41,46.17,1;Suq al-Shuyukh,Suq Al-Shoyokh,30.89,46.47,1
IRQ|Maysan|Amarah,Al-Amara,31.84,47.15,3;Majar al-Kabir,Al-Maimouna,31.57,47.17,1
IRQ|Najaf|Najaf,Al-Najaf,32.00,44.33,1
IRQ|Karbala|Karbala,Kerbala,32.61,44.02,1
IRQ|Wasit|Kut,Al-Kut,32.51,45.82,1
IRQ|Al-Qadissiya|Diwaniyah,Al-Diwaniya,31.99,44.93,1
SYR|Aleppo|Aleppo,Jebel Saman,36.20,37.16,3;Afrin,Afrin,36.51,36.87,2;Azaz,Azaz,36.59,37.05,1;Al Bab,Al Bab,36.37,37.52,2;Menbij,Menbij,36.53,37.95,2;Tell Rifaat,Azaz,36.47,37.10,1;Atareb,Jebel Saman,36.14,36.83,2;Ain al Arab,Ain Al Arab,36.89,38.35,1
SYR|Idleb|Idleb,Idleb,35.93,36.63,2;Ariha,Ariha,35.81,36.61,2;Jisr-Ash-Shugur,Jisr-Ash-Shugur,35.81,36.32,2;Sarmada,Harim,36.18,36.72,1;Kafr Nobol,Maarrat An Nu'man,35.61,36.56,2;Al Bara,Ariha,35.68,36.54,2
SYR|Deir-ez-Zor|Deir-ez-Zor,Deir-ez-Zor,35.33,40.14,3;Al Mayadin,Al Mayadin,35.02,40.45,2;Abu Kamal,Abu Kamal,34.45,40.92,2;Hajin,Abu Kamal,34.70,40.83,1;Thiban,Al Mayadin,35.00,40.50,1;Conoco Gas Field,Deir-ez-Zor,35.31,40.33,0;Al Omar Oil Field,Al Mayadin,35.05,40.63,0
SYR|Ar-Raqqa|Ar-Raqqa,Ar-Raqqa,35.95,39.01,3;Ain Issa,Tell Abiad,36.39,38.86,2;Tell Abiad,Tell Abiad,36.70,38.95,1;Tabqa,Ath-Thawrah,35.84,38.55,1
SYR|Al-Hasakeh|Al-Hasakeh,Al-Hasakeh,36.50,40.75,3;Qamishli,Quamishli,37.05,41.22,2;Ras Al Ain,Ras Al Ain,36.85,40.07,2;Tell Tamer,Ras Al Ain,36.65,40.37,2;Al-Shaddadah,Al-Hasakeh,36.06,40.73,1;Ash Shaddadi Base,Al-Hasakeh,36.05,40.71,0
SYR|Homs|Homs,Homs,34.73,36.71,3;Palmyra,Tadmor,34.56,38.28,2;Al-Qusayr,Al Makhrim,34.51,36.58,1;Ar-Rastan,Ar-Rastan,34.93,36.73,1;Sukhnah,Tadmor,34.89,38.87,1;Al Tanf,Tadmor,33.50,38.64,0
SYR|Hama|Hama,Hama,35.13,36.75,3;Salamiyeh,As-Salamiyeh,35.01,37.05,2;Morek,Muhradah,35.36,36.67,1;As-Suqaylabiyah,As-Suqaylabiyah,35.37,36.39,1
SYR|Damascus|Damascus,Damascus,33.51,36.29,3;Mezzeh,Damascus,33.50,36.25,1;Kafr Sousa,Damascus,33.50,36.27,1
SYR|Rural Damascus|Douma,Duma,33.57,36.40,2;Sayyida Zeinab,Markaz Rif Dimashq,33.44,36.34,2;Qatana,Qatana,33.44,36.08,1;Jaramana,Markaz Rif Dimashq,33.49,36.35,1;Kisweh,Markaz Rif Dimashq,33.36,36.24,1;Damascus International Airport,Markaz Rif Dimashq,33.41,36.51,1
SYR|Dar'a|Dar'a,Dar'a,32.62,36.10,3;Tafas,Dar'a,32.74,36.07,2;Jasim,As-Sanamayn,32.99,36.06,1;Bosra,Dar'a,32.52,36.48,1;Nawa,Izra',32.89,36.04,2
SYR|As-Sweida|As-Sweida,As-Sweida,32.71,36.57,3;Shahba,Shahba,32.85,36.63,1;Salkhad,Salkhad,32.49,36.71,1
SYR|Quneitra|Quneitra,Al Quneitra,33.13,35.82,2;Khan Arnaba,Al Quneitra,33.18,35.89,1;Jubata al-Khashab,Al Quneitra,33.23,35.83,1
SYR|Lattakia|Lattakia,Lattakia,35.52,35.79,2;Jableh,Jablah,35.36,35.93,1;Kabani,Al-Haffa,35.76,36.22,2
SYR|Tartous|Tartous,Tartous,34.89,35.89,2;Baniyas,Banyas,35.18,35.94,1
LBN|South|Tyre,Sour,33.27,35.20,2;Naqoura,Sour,33.12,35.14,2;Alma ash Shaab,Sour,33.10,35.19,2;Yarine,Sour,33.10,35.25,1;Saida,Saida,33.56,35.37,2;Ain al-Hilweh Camp,Saida,33.54,35.38,0
LBN|Nabatiyeh|Nabatiyeh,Nabatiyeh,33.38,35.48,2;Bint Jbeil,Bint Jbeil,33.12,35.43,2;Khiam,Marjaayoun,33.33,35.61,2;Kfar Kila,Marjaayoun,33.28,35.56,2;Aitaroun,Bint Jbeil,33.12,35.47,2;Odaisseh,Marjaayoun,33.25,35.54,1;Meiss el Jabal,Marjaayoun,33.17,35.52,1
LBN|Bekaa|Zahle,Zahle,33.85,35.90,2;Sohmor,West Bekaa,33.52,35.68,2;Mashghara,West Bekaa,33.53,35.64,1
LBN|Baalbek-Hermel|Baalbek,Baalbek,34.00,36.21,3;Hermel,Hermel,34.39,36.39,1;Brital,Baalbek,33.94,36.16,1
LBN|Beirut|Beirut,Beirut,33.89,35.50,1
LBN|Mount Lebanon|Dahieh,Baabda,33.85,35.50,2;Jounieh,Kesrouane,33.98,35.62,1;Aley,Aley,33.81,35.60,1;Barja,Chouf,33.65,35.44,1
LBN|North|Tripoli,Tripoli,34.44,35.84,3;Batroun,Batroun,34.25,35.66,1;Zgharta,Zgharta,34.40,35.90,1
LBN|Akkar|Halba,Akkar,34.54,36.08,2;Wadi Khaled,Akkar,34.62,36.30,1
ISR|HaZafon|Kiryat Shmona,Zefat,33.21,35.57,3;Metula,Zefat,33.28,35.58,2;Shlomi,Akko,33.07,35.15,2;Nahariya,Akko,33.01,35.09,1;Safed,Zefat,32.96,35.50,1;Margaliot,Zefat,33.22,35.54,2;Majdal Shams,Golan,33.27,35.77,1;Tiberias,Kinneret,32.79,35.53,1
ISR|Haifa|Haifa,Haifa,32.79,34.99,3;Kiryat Ata,Haifa,32.81,35.11,1;Hadera,Hadera,32.44,34.92,1
ISR|HaMerkaz|Petah Tikva,Petah Tiqwa,32.09,34.88,2;Ra'anana,Sharon,32.18,34.87,1;Rishon LeZion,Rehovot,31.96,34.80,1;Kfar Saba,Sharon,32.18,34.91,1;Lod,Ramla,31.95,34.89,1
ISR|Tel Aviv|Tel Aviv-Yafo,Tel Aviv,32.08,34.78,4;Ramat Gan,Tel Aviv,32.08,34.82,1;Holon,Tel Aviv,32.01,34.78,1
ISR|Yerushalayim|Jerusalem,Jerusalem,31.78,35.22,4;Beit Shemesh,Jerusalem,31.75,34.99,1
ISR|HaDarom|Sderot,Ashqelon,31.52,34.60,3;Ashkelon,Ashqelon,31.67,34.57,2;Be'eri,Be'er Sheva,31.42,34.49,1;Kfar Aza,Ashqelon,31.48,34.53,1;Nir Oz,Be'er Sheva,31.31,34.40,1;Beersheba,Be'er Sheva,31.25,34.79,1;Netivot,Be'er Sheva,31.42,34.59,1;Eilat,Be'er Sheva,29.56,34.95,0;Nevatim Airbase,Be'er Sheva,31.21,35.01,0
PSE|Gaza Strip|Gaza City,Gaza City,31.50,34.47,3;Jabalia,North Gaza,31.53,34.48,2;Beit Lahia,North Gaza,31.55,34.50,1;Beit Hanoun,North Gaza,31.54,34.54,1;Khan Yunis,Khan Yunis,31.35,34.31,3;Rafah,Rafah,31.30,34.25,2;Deir al-Balah,Deir El Balah,31.42,34.35,2;Nuseirat Camp,Deir El Balah,31.45,34.39,1
PSE|West Bank|Jenin,Jenin,32.46,35.30,3;Nablus,Nablus,32.22,35.26,3;Tulkarm,Tulkarm,32.31,35.03,2;Nur Shams Camp,Tulkarm,32.32,35.07,1;Hebron,Hebron,31.53,35.10,3;Ramallah,Ramallah and Al Bireh,31.90,35.20,2;Bethlehem,Bethlehem,31.70,35.20,2;Qalqilya,Qalqilya,32.19,34.97,1;Huwwara,Nablus,32.15,35.26,1;Jericho,Jericho,31.86,35.46,1;Jerusalem - Silwan,Jerusalem,31.77,35.24,1
YEM|Hodeidah|Al Hudaydah,Al Hawak,14.80,42.95,3;Hays,Hays,13.93,43.48,2;Ad Durayhimi,Ad Durayhimi,14.43,43.04,2;At Tuhayta,At Tuhayta,14.18,43.23,2;Zabid,Zabid,14.20,43.32,1;Ras Isa,As Salif,15.25,42.70,0;Red Sea,,15.30,41.65,0,0.55,0.55
YEM|Taizz|Taizz,Al Qahirah,13.58,44.02,3;Maqbanah,Maqbanah,13.46,43.70,2;Hayfan,Hayfan,13.23,44.28,1;Mokha,Al Makha,13.32,43.25,1;Salah,Salah,13.56,44.05,2
YEM|Marib|Marib,Marib City,15.46,45.32,2;Sirwah,Sirwah,15.45,45.03,2;Raghwan,Raghwan,15.79,45.37,1;Al Juba,Al Jubah,15.28,45.28,1;Harib,Harib,14.93,45.50,1
YEM|Al Jawf|Al Hazm,Al Hazm,16.16,44.78,2;Khab wa ash Shaaf,Khab wa ash Shaaf,16.60,45.30,1
YEM|Sanaa|Bani Hushaysh,Bani Hushaysh,15.40,44.35,1;Nihm,Nihm,15.62,44.60,2;Arhab,Arhab,15.62,44.23,1
YEM|Amanat al Asimah|Sanaa,Maain,15.35,44.21,3;Sanaa International Airport,Bani Al Harith,15.48,44.22,1
YEM|Saada|Saada,Sadah,16.94,43.76,1;Shada'a,Shada'a,16.98,43.23,3;Monabbih,Munabbih,17.15,43.32,3;Baqim,Baqim,17.37,43.63,2;Razih,Razih,16.95,43.20,2;Al Dhaher,Adh Dhahir,17.07,43.40,2
YEM|Hajjah|Hajjah,Hajjah City,15.69,43.60,1;Harad,Harad,16.42,43.07,2;Hayran,Hayran,16.10,43.05,1;Abs,Abs,16.00,43.20,1;Midi,Midi,16.32,42.81,1
YEM|Al Dhale'e|Al Dhale'e,Ad Dali',13.70,44.73,2;Qatabah,Qatabah,13.86,44.70,2;Damt,Damt,14.09,44.73,1;Murays,Qatabah,13.93,44.71,1
YEM|Lahij|Al Hawtah,Al Hawtah,13.05,44.88,2;Tur al Bahah,Tur Al Bahah,13.35,44.33,1;Radfan,Radfan,13.43,44.84,1
YEM|Aden|Aden,Craiter,12.78,45.03,2;Sheikh Othman,Ash Shaikh Outhman,12.87,44.99,1;Al Mansurah,Al Mansura,12.86,44.98,1;Gulf of Aden,,13.05,46.00,0,0.70,1.90
YEM|Shabwah|Ataq,Ataq,14.54,46.83,2;Bayhan,Bayhan,14.80,45.73,1;Azzan,Mayfa'a,14.17,47.08,1
YEM|Abyan|Zinjibar,Zinjibar,13.13,45.38,2;Mudiyah,Mudiyah,13.93,46.05,2;Lawdar,Lawdar,13.88,45.87,1;Ahwar,Ahwar,13.52,46.71,1
YEM|Al Bayda|Al Bayda,Al Bayda City,13.99,45.57,2;Rada'a,Rada',14.42,44.84,2;Mukayras,Mukayras,13.94,45.65,1
YEM|Ibb|Ibb,Al Mashannah,13.97,44.18,2;Yarim,Yarim,14.30,44.38,1
YEM|Dhamar|Dhamar,Dhamar City,14.54,44.40,1
YEM|Hadramawt|Mukalla,Al Mukalla City,14.54,49.12,2;Seiyun,Sayun,15.94,48.79,1
YEM|Al Mahrah|Al Ghaydah,Al Ghaydah,16.21,52.18,1
SAU|Jizan|Jizan,Jizan,16.89,42.55,1;Al Harth,Al Harth,16.99,43.16,2;Samtah,Samtah,16.60,42.94,1;Al Ardah,Al Ardah,17.03,43.05,1
SAU|Najran|Najran,Najran,17.49,44.13,2;Sharurah,Sharurah,17.47,47.12,1
IRN|Tehran|Tehran,Tehran,35.69,51.39,5;Shahr-e Rey,Rey,35.59,51.43,1;Eslamshahr,Eslamshahr,35.55,51.23,1
IRN|Alborz|Karaj,Karaj,35.84,50.94,1
IRN|Kurdistan|Sanandaj,Sanandaj,35.31,47.00,3;Saqqez,Saqqez,36.25,46.27,2;Marivan,Marivan,35.52,46.18,1;Baneh,Baneh,35.99,45.89,1;Divandarreh,Divandarreh,35.91,47.02,1
IRN|Sistan and Baluchestan|Zahedan,Zahedan,29.50,60.86,3;Khash,Khash,28.22,61.21,1;Saravan,Saravan,27.37,62.33,2;Rask,Sarbaz,26.23,61.40,1;Chabahar,Chabahar,25.29,60.64,1;Iranshahr,Iranshahr,27.20,60.68,1
IRN|Khuzestan|Ahvaz,Ahvaz,31.32,48.67,3;Abadan,Abadan,30.34,48.30,1;Izeh,Izeh,31.83,49.87,1;Mahshahr,Mahshahr,30.56,49.20,1
IRN|West Azerbaijan|Urmia,Urmia,37.55,45.08,2;Mahabad,Mahabad,36.76,45.72,2;Piranshahr,Piranshahr,36.70,45.14,1;Bukan,Bukan,36.52,46.21,1;Oshnavieh,Oshnavieh,37.04,45.10,1
IRN|Kermanshah|Kermanshah,Kermanshah,34.31,47.07,2;Javanrud,Javanrud,34.81,46.49,1;Eslamabad-e Gharb,Eslamabad-e Gharb,34.11,46.53,1
IRN|Esfahan|Esfahan,Esfahan,32.65,51.67,3;Shahinshahr,Shahinshahr and Meymeh,32.86,51.55,1;Najafabad,Najafabad,32.63,51.37,1
IRN|Kerman|Kerman,Kerman,30.28,57.08,1
IRN|Fars|Shiraz,Shiraz,29.59,52.58,1
IRN|Razavi Khorasan|Mashhad,Mashhad,36.30,59.60,1
IRN|Gilan|Rasht,Rasht,37.28,49.58,1
"""

# --- actors: alias=name|inter code|home country. {C} = the event's country. Inter codes: S State
# forces, R Rebel group, P Political militia, I Identity militia, E External/Other forces,
# C Civilians, D Protesters, T Rioters. An external force acting in its home country is State forces.
ACTOR_TABLE = """
IQM=Military Forces of Iraq (2022-)|S;IQP=Police Forces of Iraq (2022-)|S;PMF=Popular Mobilization Forces|P
ISI=Islamic State (Iraq)|R;IRI=Islamic Resistance in Iraq|P;KH=Kataib Hezbollah|P;SADR=Saraya al-Salam|P
USM=Military Forces of the United States (2021-)|E;UKM=Military Forces of the United Kingdom (2010-)|E
TRM=Military Forces of Turkey (2016-)|E;PKK=PKK: Kurdistan Workers Party|R;RUM=Military Forces of Russia (2000-)|E
IRM=Military Forces of Iran (1989-)|E|IRN;IRGC=Islamic Revolutionary Guard Corps|E|IRN
KDPI=KDPI: Kurdistan Democratic Party of Iran|R;PJAK=PJAK: Party of Free Life of Kurdistan|R
SYM=Military Forces of Syria (2000-2024)|S;HTS=HTS: Hayat Tahrir al-Sham|R;NLF=NLF: National Liberation Front|R
SNA=SNA: Syrian National Army|R;SDF=SDF: Syrian Democratic Forces|R;ISS=Islamic State (Syria)|R
SOR=Southern Operations Room|R;TRIBE=Tribal Militia ({C})|I;ISM=Military Forces of Israel (2022-)|E|ISR
HEZ=Hezbollah|P;AMAL=Amal Movement|P;FATAH=Fatah Movement|P;JUND=Jund al-Sham|P;HAMAS=Hamas Movement|P
QASSAM=Al Qassam Brigades|R;PIJ=Palestinian Islamic Jihad|R;AAMB=Al Aqsa Martyrs Brigade|P;LIONS=Lions' Den|P
SETT=Settlers (Israel)|P;HOU=Ansar Allah (Houthis)|R;YGM=Military Forces of Yemen (2017-) Government|S
STC=Southern Transitional Council|P;GIANTS=Giants Brigades|P;AQAP=AQAP: Al Qaeda in the Arabian Peninsula|R
SAM=Military Forces of Saudi Arabia (2015-)|E|SAU;MIG=Civilians (Ethiopia)|C;CINT=Civilians (International)|C
POLI=Police Forces of Iran (1989-)|S;BASIJ=Basij Resistance Force|S;JAA=Jaish al-Adl|R
ISK=Islamic State Khorasan Province|R;PRO=Protesters ({C})|D;RIO=Rioters ({C})|T;CIV=Civilians ({C})|C
UAG=Unidentified Armed Group ({C})|P
"""
INTER = {"S": "State forces", "R": "Rebel group", "P": "Political militia", "I": "Identity militia",
         "E": "External/Other forces", "C": "Civilians", "D": "Protesters", "T": "Rioters"}
ACTORS = {
    k: (f[0], INTER[f[1]], f[2] if len(f) > 2 else "")
    for k, f in ((e.split("=", 1)[0], e.split("=", 1)[1].split("|")) for e in ACTOR_TABLE.replace("\n", ";").split(";") if e)
}
# --- event kinds: code|event_type|sub_event_type|disorder_type|verb used in notes
KIND_TABLE = """
B|Battles|Armed clash|Political violence|clashed with
AIR|Explosions/Remote violence|Air/drone strike|Political violence|carried out air/drone strikes on
SHL|Explosions/Remote violence|Shelling/artillery/missile attack|Political violence|fired artillery and missiles at
IED|Explosions/Remote violence|Remote explosive/landmine/IED|Political violence|detonated an explosive device against
VAC|Violence against civilians|Attack|Political violence|attacked
ABD|Violence against civilians|Abduction/forced disappearance|Political violence|abducted
PP|Protests|Peaceful protest|Demonstrations|demonstrated peacefully
PI|Protests|Protest with intervention|Demonstrations|demonstrated and were dispersed by
EF|Protests|Excessive force against protesters|Political violence; Demonstrations|used excessive force against
VD|Riots|Violent demonstration|Demonstrations|rioted and clashed with
MOB|Riots|Mob violence|Political violence|attacked
ARR|Strategic developments|Arrests|Strategic developments|arrested
DWU|Strategic developments|Disrupted weapons use|Strategic developments|intercepted a projectile launched by
LOOT|Strategic developments|Looting/property destruction|Strategic developments|destroyed property belonging to
OTH|Strategic developments|Other|Strategic developments|seized assets of
"""
KINDS = {f[0]: f[1:4] for f in (line.split("|") for line in KIND_TABLE.strip().splitlines())}
VERBS = {f[0]: f[4] for f in (line.split("|") for line in KIND_TABLE.strip().splitlines())}
VIOLENT = {"B", "AIR", "SHL", "IED", "VAC", "ABD", "EF", "VD", "MOB"}
SOURCES = {
    "IRQ": ["Shafaq News", "Rudaw", "Kurdistan 24", "Security Media Cell (Iraq)", "Reuters", "Xinhua"],
    "SYR": ["SOHR", "Enab Baladi", "North Press Agency", "Step News Agency", "SANA", "Reuters"],
    "LBN": ["National News Agency (Lebanon)", "L'Orient-Le Jour", "Al Mayadeen", "Naharnet", "AFP"],
    "ISR": ["Times of Israel", "Haaretz", "Ynet", "Jerusalem Post", "Reuters"],
    "PSE": ["WAFA", "Palestine Chronicle", "Maan News Agency", "OCHA oPt", "Al Jazeera", "Times of Israel"],
    "YEM": ["Saba News Agency (Houthi)", "Al Masdar Online", "Aden al-Ghad", "UKMTO", "CENTCOM", "Al Jazeera"],
    "SAU": ["Saba News Agency (Houthi)", "Al Masirah", "Human Rights Watch"],
    "IRN": ["HRANA", "Hengaw", "Haalvsh", "IRNA", "Iran International", "Radio Farda"],
}
SCALES = ["National", "Subnational", "International", "New media", "National-International",
          "Subnational-National", "Other-National"]

LINKS = {  # contagion between theatres
    "Iraq": ["Syria"], "Syria": ["Iraq"],
    "Lebanon & northern Israel": ["Israel & Palestine"],
    "Israel & Palestine": ["Lebanon & northern Israel", "Yemen & Red Sea"],
    "Yemen & Red Sea": ["Israel & Palestine"], "Iran": [],
}


def theatre_of(cc: str, admin1: str) -> str:
    if cc == "ISR":
        return "Lebanon & northern Israel" if admin1 in ("HaZafon", "Haifa") else "Israel & Palestine"
    return {"IRQ": "Iraq", "SYR": "Syria", "LBN": "Lebanon & northern Israel", "PSE": "Israel & Palestine",
            "YEM": "Yemen & Red Sea", "SAU": "Yemen & Red Sea", "IRN": "Iran"}[cc]


COMPONENTS: list[dict] = []
FLARES: list[tuple] = []  # (unit, week, magnitude, precursor weeks), filled by simulate_latent


def comp(cc, kind, a1, a2, fat, adm, knots, sites="", spike=False, exact=False):
    """Register one event kind with a weekly rate path (knots: [(date, events/week)])."""
    COMPONENTS.append(dict(cc=cc, kind=kind, a1=a1, a2=a2, fat=fat, adm=adm, knots=knots,
                           sites=sites, spike=spike, exact=exact))


def spike(cc, kind, a1, a2, fat, adm, days, sites="", exact=False):
    """Register events on given days (days: [(date, expected events that day)])."""
    comp(cc, kind, a1, a2, fat, adm, days, sites, spike=True, exact=exact)


def flat(rate, start="2022-01-01", end="2024-12-31"):
    return [(start, rate), (end, rate)]


# ------------------------------------------------------------------------------------------- IRAQ
IS_IQ = "Kirkuk:3;Salah al-Din:3;Diyala:3.5;Al Anbar:0.6;Ninewa:0.2"
KRI = "Duhok:5;Erbil:2.5;Sulaymaniyah:0.4;Ninewa:0.4"
IQ_SOUTH = "Baghdad:3;Basrah:2.5;Dhi-Qar:2;Maysan:1;Babil:1;Najaf:1;Karbala:0.7;Wasit:1;Al-Qadissiya:1;Sulaymaniyah:1.5;Erbil:0.5;Ninewa:1;Kirkuk:1;Diyala:0.5;Al Anbar:0.5"
OCT23 = [("2023-10-16", 0), ("2023-10-17", 1), ("2024-02-04", 1), ("2024-02-05", 0)]
comp("IRQ", "B", "IQM:3 PMF:2", "ISI", (0.35, 2), IS_IQ, [("2022-01-01", 8.5), ("2023-06-01", 7), ("2024-12-31", 6)])
comp("IRQ", "IED", "ISI", "IQM:2 PMF:2 CIV:1", (0.3, 2), IS_IQ, [("2022-01-01", 3), ("2024-12-31", 1.5)])
comp("IRQ", "VAC", "ISI", "CIV", (0.5, 1.5), IS_IQ, [("2022-01-01", 2), ("2024-12-31", 1)])
comp("IRQ", "AIR", "IQM", "ISI", (0.4, 3), "Salah al-Din:2;Kirkuk:2;Al Anbar:1;Diyala:1", flat(1.5))
comp("IRQ", "AIR", "TRM", "PKK:3 CIV:1", (0.25, 2), KRI, [("2022-01-01", 8), ("2023-06-01", 6), ("2024-12-31", 7)])
comp("IRQ", "SHL", "TRM", "PKK:3 CIV:1", (0.05, 1), "Duhok:5;Erbil:1", flat(7))
comp("IRQ", "B", "TRM", "PKK", (0.4, 2), "Duhok:4;Erbil:1", flat(3))
comp("IRQ", "SHL", "IRGC", "KDPI:2 PJAK:1 CIV:1", (0.2, 2), "Erbil:2;Sulaymaniyah:2", [("2022-01-01", 0.3), ("2022-09-23", 0.3), ("2022-09-24", 8), ("2022-11-25", 6), ("2022-11-26", 0.3), ("2024-12-31", 0.3)])
comp("IRQ", "PP", "PRO", "", (0, 0), IQ_SOUTH, [("2022-01-01", 10), ("2022-07-20", 22), ("2022-09-10", 10), ("2023-10-09", 18), ("2023-12-01", 9), ("2024-12-31", 9)])
comp("IRQ", "PI", "PRO", "IQP", (0, 0), IQ_SOUTH, flat(2))
comp("IRQ", "VD", "RIO", "IQP", (0.05, 1), "Baghdad:3;Basrah:2;Dhi-Qar:2;Sulaymaniyah:0.5", flat(1.5))
comp("IRQ", "B", "TRIBE", "TRIBE", (0.3, 1), "Basrah:3;Maysan:0.5;Dhi-Qar:2.5", flat(5.5))
comp("IRQ", "VAC", "UAG", "CIV", (0.45, 1), "Baghdad:2;Basrah:1;Dhi-Qar:1;Diyala:1", flat(3))
comp("IRQ", "IED", "UAG", "IQM:1 CIV:1", (0.1, 1), "Baghdad:2;Diyala:1;Basrah:1;Babil:0.5;Dhi-Qar:0.5", flat(2))
comp("IRQ", "ARR", "IQM:1 IQP:2", "ISI:2 CIV:1", (0, 0), IS_IQ, flat(1.5))
spike("IRQ", "B", "SADR", "PMF:1 IQM:1", (0.7, 3), "Baghdad:6;Basrah:1", [("2022-08-29", 18), ("2022-08-30", 12), ("2022-08-31", 3)])
comp("IRQ", "SHL", "IRI", "USM", (0.02, 1), "Al Anbar:3;Erbil:2;Baghdad:0.5", [(d, r * 5) for d, r in OCT23], sites="Ain al-Asad Air Base,Harir,Erbil,Victoria Base")
comp("IRQ", "DWU", "USM", "IRI", (0, 0), "Al Anbar:3;Erbil:2", [(d, r * 2) for d, r in OCT23], sites="Ain al-Asad Air Base,Harir,Erbil")
spike("IRQ", "AIR", "USM", "KH:2 PMF:1 IRI:1", (0.7, 3), "Babil:2;Al Anbar:1;Baghdad:1", [("2023-11-21", 2), ("2023-12-26", 3), ("2024-01-04", 1), ("2024-01-23", 3), ("2024-02-02", 4), ("2024-02-07", 1), ("2024-07-30", 1)], sites="Jurf al-Sakhar,Al-Qaim,Baghdad - Rusafa")
spike("IRQ", "SHL", "IRGC", "CIV", (0.5, 2), "Erbil:1", [("2024-01-15", 3)], sites="Erbil")

# ------------------------------------------------------------------------------------------ SYRIA
NW = "Idleb:5;Aleppo:3;Hama:1.5;Lattakia:1"
NORTH = "Aleppo:4;Ar-Raqqa:2;Al-Hasakeh:3"
EAST = "Deir-ez-Zor:4;Al-Hasakeh:1;Ar-Raqqa:1;Homs:2;Hama:0.5"
END_FRONT = [("2024-11-26", 1), ("2024-12-08", 0.5), ("2024-12-09", 0)]
NWK = [("2022-01-01", 1), ("2023-10-04", 1), ("2023-10-05", 4.5), ("2023-10-12", 3), ("2023-10-16", 1)] + END_FRONT
comp("SYR", "SHL", "SYM", "HTS:2 NLF:1 CIV:1", (0.15, 1.5), NW, [(d, 40 * r) for d, r in NWK])
comp("SYR", "SHL", "HTS:3 NLF:1", "SYM", (0.1, 1.5), NW, [(d, 14 * r) for d, r in NWK])
comp("SYR", "B", "SYM", "HTS:3 NLF:1", (0.3, 2), NW, [(d, 10 * r) for d, r in NWK])
comp("SYR", "AIR", "RUM", "HTS:2 CIV:1 ISS:1", (0.3, 2), "Idleb:4;Lattakia:1;Hama:1;Homs:1", [(d, 5 * r) for d, r in NWK])
comp("SYR", "SHL", "TRM:2 SNA:3", "SDF:3 CIV:1", (0.1, 1.5), NORTH, [("2022-01-01", 20), ("2022-11-19", 20), ("2022-11-20", 55), ("2022-12-05", 20), ("2023-10-04", 20), ("2023-10-05", 45), ("2023-10-15", 20), ("2024-10-22", 20), ("2024-10-23", 40), ("2024-11-02", 20), ("2024-12-31", 20)])
comp("SYR", "AIR", "TRM", "SDF:3 CIV:1", (0.35, 2), NORTH, flat(4))
comp("SYR", "SHL", "SDF", "SNA:2 TRM:1", (0.05, 1), NORTH, flat(7))
comp("SYR", "B", "SNA", "SDF", (0.3, 2), "Aleppo:4;Ar-Raqqa:1;Al-Hasakeh:1", [("2022-01-01", 4), ("2024-12-07", 4), ("2024-12-08", 40), ("2024-12-31", 30)])
comp("SYR", "B", "SDF", "ISS", (0.35, 2), "Deir-ez-Zor:3;Al-Hasakeh:1;Ar-Raqqa:1", flat(3.5))
comp("SYR", "B", "SYM:3 RUM:1", "ISS", (0.4, 2), "Homs:3;Deir-ez-Zor:1;Hama:0.7;Ar-Raqqa:0.3", flat(3))
comp("SYR", "IED", "ISS", "SDF:2 CIV:1", (0.35, 2), "Deir-ez-Zor:3;Al-Hasakeh:1;Ar-Raqqa:1", flat(2))
comp("SYR", "IED", "ISS", "SYM:2 CIV:1", (0.35, 2), "Homs:2;Hama:0.5", flat(1))
comp("SYR", "VAC", "ISS", "CIV", (0.5, 1.5), EAST, flat(3))
comp("SYR", "VAC", "UAG", "CIV", (0.7, 1), "Deir-ez-Zor:3;Dar'a:4;Al-Hasakeh:1;Ar-Raqqa:1;As-Sweida:0.5", flat(10))
comp("SYR", "B", "UAG", "SYM", (0.4, 1), "Dar'a:3;As-Sweida:0.5;Quneitra:0.3", flat(6))
comp("SYR", "IED", "UAG", "SYM:1 CIV:1", (0.4, 1), "Dar'a:3;Aleppo:1;Rural Damascus:0.5;Deir-ez-Zor:0.5", flat(4))
comp("SYR", "B", "TRIBE", "SDF", (0.35, 2), "Deir-ez-Zor:1", [("2022-01-01", 2), ("2023-08-26", 2), ("2023-08-27", 45), ("2023-09-15", 15), ("2023-10-01", 2), ("2024-12-31", 3)])
comp("SYR", "AIR", "ISM", "SYM:2 HEZ:1 IRGC:1", (0.35, 2), "Damascus:2;Rural Damascus:3;Quneitra:1;Dar'a:0.5;Homs:1;Hama:0.3;Deir-ez-Zor:0.5;Aleppo:0.5;Lattakia:0.2;Tartous:0.2", [("2022-01-01", 1.5), ("2023-10-06", 1.5), ("2023-10-12", 4), ("2024-12-07", 4), ("2024-12-08", 200), ("2024-12-15", 30), ("2024-12-31", 8)])
comp("SYR", "SHL", "IRI", "USM", (0.02, 1), "Deir-ez-Zor:3;Al-Hasakeh:2;Homs:0.5", [(d, r * 4) for d, r in OCT23], sites="Conoco Gas Field,Al Omar Oil Field,Ash Shaddadi Base,Al Tanf")
comp("SYR", "AIR", "USM", "ISS", (0.5, 2), "Deir-ez-Zor:2;Ar-Raqqa:1;Homs:1", flat(0.4))
spike("SYR", "AIR", "USM", "IRGC:1 KH:1", (0.6, 3), "Deir-ez-Zor:1", [("2023-10-27", 2), ("2023-11-08", 1), ("2023-11-12", 2), ("2024-02-02", 6), ("2024-02-03", 2), ("2024-09-16", 3)], sites="Abu Kamal,Al Mayadin,Deir-ez-Zor")
comp("SYR", "PP", "PRO", "", (0, 0), "Idleb:3;Aleppo:3;As-Sweida:1;Dar'a:1;Al-Hasakeh:1.5;Deir-ez-Zor:1;Ar-Raqqa:1", flat(12))
comp("SYR", "PP", "PRO", "", (0, 0), "As-Sweida:1", [("2023-08-16", 0), ("2023-08-17", 35), ("2024-03-01", 15), ("2024-12-31", 8)])
comp("SYR", "ARR", "SYM", "CIV", (0, 0), "Dar'a:1;Rural Damascus:1;Damascus:0.5;Homs:0.5", flat(2))
comp("SYR", "ARR", "SDF", "CIV", (0, 0), "Al-Hasakeh:1;Deir-ez-Zor:1;Ar-Raqqa:1", flat(2))
comp("SYR", "ARR", "HTS:2 SNA:1", "CIV", (0, 0), "Idleb:2;Aleppo:1", flat(1.5))
comp("SYR", "LOOT", "SNA", "CIV", (0, 0), "Aleppo:1", flat(2))
comp("SYR", "IED", "UAG", "CIV", (0.6, 1), "Idleb:1;Aleppo:1;Hama:1;Deir-ez-Zor:1;Homs:1;Dar'a:0.5", flat(3))
OFF = [("2024-11-26", 0), ("2024-11-27", 1), ("2024-12-08", 1), ("2024-12-09", 0)]
OFF_ADM = "Aleppo:3;Idleb:2;Hama:3;Homs:2;Dar'a:1.5;As-Sweida:0.5;Damascus:0.5;Rural Damascus:1;Lattakia:0.5;Tartous:0.3"
comp("SYR", "B", "HTS:3 SNA:1 NLF:1 SOR:1", "SYM", (0.5, 3), OFF_ADM, [(d, r * 260) for d, r in OFF])
comp("SYR", "AIR", "SYM:2 RUM:1", "HTS:2 CIV:1", (0.4, 3), "Idleb:3;Aleppo:2;Hama:2;Homs:1", [(d, r * 110) for d, r in OFF])
comp("SYR", "LOOT", "HTS:1 SNA:2", "CIV", (0, 0), OFF_ADM, [(d, r * 30) for d, r in OFF])
spike("SYR", "AIR", "ISM", "IRGC", (1.0, 5), "Damascus:1", [("2024-01-20", 1)], sites="Mezzeh", exact=True)
spike("SYR", "AIR", "ISM", "IRGC", (1.0, 16), "Damascus:1", [("2024-04-01", 1)], sites="Mezzeh", exact=True)

# ---------------------------------------------------------------------------------------- LEBANON
comp("LBN", "PP", "PRO", "", (0, 0), "Beirut:3;Mount Lebanon:2;North:2;South:1.5;Bekaa:1;Nabatiyeh:0.5;Akkar:0.5;Baalbek-Hermel:0.5", [("2022-01-01", 13), ("2023-01-01", 9), ("2023-10-08", 9), ("2023-10-09", 18), ("2023-12-01", 6), ("2024-09-22", 5), ("2024-09-23", 2), ("2024-12-31", 4)])
comp("LBN", "VD", "RIO", "", (0.02, 1), "Beirut:2;North:2;Mount Lebanon:1;Bekaa:1", flat(2))
comp("LBN", "B", "TRIBE", "TRIBE", (0.3, 1), "Baalbek-Hermel:2;Bekaa:1;North:1;Akkar:0.5", flat(3.5))
comp("LBN", "VAC", "UAG", "CIV", (0.4, 1), "North:1;Akkar:1;Baalbek-Hermel:1;Mount Lebanon:1;South:1", flat(2))
spike("LBN", "B", "FATAH", "JUND", (0.3, 1), "South:1", [("2023-07-30", 6), ("2023-07-31", 6), ("2023-08-01", 4), ("2023-09-07", 4), ("2023-09-08", 6), ("2023-09-09", 5), ("2023-09-10", 4)], sites="Ain al-Hilweh Camp")
comp("LBN", "AIR", "ISM", "HEZ:4 CIV:1 AMAL:0.3 HAMAS:0.2", (0.35, 2), "Nabatiyeh:5;South:3;Bekaa:0.4;Baalbek-Hermel:0.4", [("2022-01-01", 0.1), ("2023-10-07", 0.1), ("2023-10-08", 10), ("2024-01-15", 18), ("2024-06-01", 28), ("2024-09-15", 32), ("2024-09-23", 150), ("2024-11-26", 130), ("2024-11-27", 3), ("2024-12-31", 3)])
comp("LBN", "AIR", "ISM", "HEZ:3 CIV:2", (0.5, 3), "Baalbek-Hermel:3;Bekaa:2;Mount Lebanon:1.5;Beirut:0.3;North:0.1", [("2024-09-22", 0), ("2024-09-23", 90), ("2024-11-26", 80), ("2024-11-27", 0)])
comp("LBN", "SHL", "ISM", "HEZ:3 CIV:1", (0.1, 1), "Nabatiyeh:4;South:3", [("2023-10-07", 0), ("2023-10-08", 20), ("2024-06-01", 30), ("2024-09-22", 32), ("2024-09-23", 70), ("2024-11-26", 70), ("2024-11-27", 2), ("2024-12-31", 2)])
comp("LBN", "B", "ISM", "HEZ", (0.45, 3), "Nabatiyeh:3;South:2", [("2024-09-30", 0), ("2024-10-01", 55), ("2024-11-26", 55), ("2024-11-27", 0)])
spike("LBN", "IED", "ISM", "HEZ:3 CIV:1", (0.3, 2), "Beirut:1;Mount Lebanon:3;South:2;Nabatiyeh:2;Bekaa:1;Baalbek-Hermel:1", [("2024-09-17", 40), ("2024-09-18", 25)])
spike("LBN", "AIR", "ISM", "HEZ:2 HAMAS:1", (1.0, 5), "Mount Lebanon:1", [("2024-01-02", 1), ("2024-07-30", 1), ("2024-09-27", 2)], sites="Dahieh")
spike("LBN", "AIR", "ISM", "HEZ", (1.0, 1), "South:1", [("2024-01-20", 1)], sites="Naqoura", exact=True)
comp("ISR", "SHL", "HEZ:5 HAMAS:0.3", "ISM:4 CIV:1", (0.05, 1), "HaZafon:6;Haifa:0.5", [("2023-10-07", 0), ("2023-10-08", 15), ("2024-06-01", 30), ("2024-09-22", 30), ("2024-09-23", 55), ("2024-11-26", 55), ("2024-11-27", 0)])
comp("ISR", "DWU", "ISM", "HEZ", (0, 0), "HaZafon:6;Haifa:1", [("2023-10-07", 0), ("2023-10-08", 3), ("2024-09-23", 10), ("2024-11-26", 10), ("2024-11-27", 0)])
comp("ISR", "PP", "PRO", "", (0, 0), "HaZafon:1;Haifa:2", flat(3))

# ------------------------------------------------------------------------------ ISRAEL & PALESTINE
WB = "West Bank:1"
comp("PSE", "B", "ISM", "PIJ:2 AAMB:2 QASSAM:1 LIONS:1 UAG:1", (0.35, 1.5), WB, [("2022-01-01", 6), ("2023-01-01", 10), ("2023-10-07", 12), ("2023-10-14", 18), ("2024-12-31", 15)])
comp("PSE", "VAC", "ISM", "CIV", (0.5, 1), WB, [("2022-01-01", 5), ("2023-10-07", 6), ("2023-10-14", 9), ("2024-12-31", 8)])
comp("PSE", "VAC", "SETT", "CIV", (0.03, 1), WB, [("2022-01-01", 9), ("2023-10-07", 10), ("2023-10-14", 18), ("2024-12-31", 13)])
comp("PSE", "VD", "RIO", "ISM", (0.04, 1), WB, [("2022-01-01", 20), ("2023-10-07", 24), ("2023-10-14", 14), ("2024-12-31", 11)])
comp("PSE", "PI", "PRO", "ISM", (0, 0), WB, flat(8))
comp("PSE", "PP", "PRO", "", (0, 0), "West Bank:3;Gaza Strip:1", [("2022-01-01", 8), ("2023-10-07", 8), ("2023-10-09", 40), ("2023-12-15", 10), ("2024-12-31", 7)])
comp("PSE", "ARR", "ISM", "CIV", (0, 0), WB, [("2022-01-01", 8), ("2023-10-07", 8), ("2023-10-10", 20), ("2024-12-31", 12)])
comp("PSE", "LOOT", "ISM:2 SETT:1", "CIV", (0, 0), WB, flat(6))
spike("PSE", "B", "ISM", "PIJ:2 AAMB:1 UAG:1", (0.4, 2), WB, [("2023-07-03", 14), ("2023-07-04", 10)], sites="Jenin")
spike("PSE", "AIR", "ISM", "PIJ:2 UAG:1", (0.5, 2), WB, [("2023-07-03", 5), ("2023-07-04", 3), ("2024-08-28", 4), ("2024-08-29", 3)], sites="Jenin,Tulkarm,Nur Shams Camp")
comp("PSE", "B", "ISM", "PIJ:2 AAMB:1 QASSAM:1", (0.4, 2), WB, [("2024-08-27", 0), ("2024-08-28", 45), ("2024-09-06", 30), ("2024-09-07", 0)], sites="Jenin,Tulkarm,Nur Shams Camp")
spike("PSE", "VAC", "SETT", "CIV", (0.1, 1), WB, [("2023-02-26", 12), ("2023-02-27", 4)], sites="Huwwara,Nablus")
comp("PSE", "VD", "RIO", "ISM", (0.05, 1), "Gaza Strip:1", [("2022-01-01", 1.5), ("2023-10-06", 1.5), ("2023-10-07", 0)])
spike("PSE", "AIR", "ISM", "PIJ:3 CIV:1", (0.5, 2), "Gaza Strip:1", [("2022-08-05", 25), ("2022-08-06", 30), ("2022-08-07", 25), ("2023-05-09", 15), ("2023-05-10", 20), ("2023-05-11", 20), ("2023-05-12", 20), ("2023-05-13", 15)])
comp("PSE", "AIR", "ISM", "PIJ:1 QASSAM:1", (0.1, 1), "Gaza Strip:1", [("2022-01-01", 1), ("2023-10-06", 1), ("2023-10-07", 0)])
GAZA = "Gaza Strip:1"
comp("PSE", "AIR", "ISM", "CIV:3 QASSAM:1 PIJ:0.5", (0.6, 4), GAZA, [("2023-10-06", 0), ("2023-10-07", 150), ("2023-11-23", 105), ("2023-11-24", 5), ("2023-11-30", 5), ("2023-12-01", 125), ("2024-02-01", 85), ("2024-06-01", 70), ("2024-12-31", 60)])
comp("PSE", "SHL", "ISM", "CIV:2 QASSAM:1", (0.4, 2), GAZA, [("2023-10-06", 0), ("2023-10-07", 45), ("2023-11-23", 40), ("2023-11-24", 3), ("2023-11-30", 3), ("2023-12-01", 40), ("2024-12-31", 25)])
comp("PSE", "B", "ISM", "QASSAM:3 PIJ:1.5 AAMB:0.3", (0.3, 2), GAZA, [("2023-10-06", 0), ("2023-10-07", 15), ("2023-10-26", 20), ("2023-10-27", 70), ("2023-11-23", 70), ("2023-11-24", 2), ("2023-11-30", 2), ("2023-12-01", 60), ("2024-02-01", 40), ("2024-06-01", 30), ("2024-12-31", 25)])
comp("PSE", "VAC", "ISM", "CIV", (0.7, 2), GAZA, [("2023-10-06", 0), ("2023-10-07", 8), ("2024-12-31", 12)])
comp("ISR", "SHL", "QASSAM:3 PIJ:2", "CIV:1 ISM:1", (0.02, 1), "HaDarom:5;HaMerkaz:1;Tel Aviv:0.7;Yerushalayim:0.2", [("2022-01-01", 0.5), ("2023-10-06", 0.5), ("2023-10-07", 90), ("2023-11-23", 25), ("2023-11-24", 0), ("2023-11-30", 0), ("2023-12-01", 18), ("2024-03-01", 8), ("2024-12-31", 2)])
spike("ISR", "SHL", "PIJ", "CIV:1 ISM:1", (0.02, 1), "HaDarom:5;HaMerkaz:1;Tel Aviv:0.5", [("2022-08-05", 15), ("2022-08-06", 25), ("2022-08-07", 20), ("2023-05-10", 20), ("2023-05-11", 15), ("2023-05-12", 12), ("2023-05-13", 8)])
comp("ISR", "DWU", "ISM", "QASSAM:2 PIJ:1", (0, 0), "HaDarom:4;HaMerkaz:1;Tel Aviv:1", [("2023-10-06", 0), ("2023-10-07", 20), ("2024-03-01", 3), ("2024-12-31", 1)])
spike("ISR", "B", "QASSAM:3 PIJ:1", "ISM", (0.8, 8), "HaDarom:1", [("2023-10-07", 60), ("2023-10-08", 30), ("2023-10-09", 12), ("2023-10-10", 5)])
spike("ISR", "VAC", "QASSAM:3 PIJ:1 HAMAS:0.5", "CIV", (0.85, 12), "HaDarom:1", [("2023-10-07", 50), ("2023-10-08", 5)], sites="Be'eri,Kfar Aza,Nir Oz,Sderot,Netivot")
comp("ISR", "PP", "PRO", "", (0, 0), "Tel Aviv:4;Yerushalayim:2;HaMerkaz:2;HaDarom:1", [("2022-01-01", 7), ("2023-01-06", 7), ("2023-01-07", 45), ("2023-07-01", 70), ("2023-10-06", 55), ("2023-10-07", 6), ("2024-01-01", 22), ("2024-08-31", 22), ("2024-09-01", 50), ("2024-09-20", 25), ("2024-12-31", 25)])
comp("ISR", "VAC", "UAG", "CIV", (0.5, 1), "Yerushalayim:2;HaMerkaz:1;Tel Aviv:1;HaDarom:0.5", flat(1))
comp("ISR", "SHL", "HOU", "ISM", (0, 0), "HaDarom:1", [("2023-10-18", 0), ("2023-10-19", 1.5), ("2024-12-31", 1.5)], sites="Eilat")
spike("ISR", "AIR", "HOU", "CIV", (1.0, 1), "Tel Aviv:1", [("2024-07-19", 1)], exact=True)
spike("ISR", "SHL", "HOU", "CIV:1 ISM:1", (0.02, 1), "Tel Aviv:2;HaMerkaz:1", [("2024-12-19", 2), ("2024-12-21", 2), ("2024-12-25", 1), ("2024-12-28", 1)])
spike("ISR", "SHL", "IRM", "ISM", (0.0, 0), "HaDarom:3;Yerushalayim:0.5", [("2024-04-13", 3), ("2024-04-14", 10)], sites="Nevatim Airbase,Beersheba,Jerusalem")
spike("ISR", "SHL", "IRM", "ISM", (0.0, 0), "HaZafon:1", [("2024-04-14", 3)])
spike("ISR", "DWU", "ISM", "IRM", (0, 0), "HaDarom:2;HaZafon:1;Yerushalayim:1", [("2024-04-14", 8), ("2024-10-01", 12)])
spike("ISR", "SHL", "IRM", "ISM:2 CIV:1", (0.03, 1), "Tel Aviv:2;HaMerkaz:2;HaDarom:2", [("2024-10-01", 22)], sites="Tel Aviv-Yafo,Ramat Gan,Petah Tikva,Rishon LeZion,Nevatim Airbase,Beersheba")
spike("ISR", "SHL", "IRM", "ISM", (0.0, 0), "HaZafon:1;Haifa:1", [("2024-10-01", 5)])
spike("PSE", "SHL", "IRM", "CIV", (1.0, 1), WB, [("2024-10-01", 1)], sites="Jericho", exact=True)

# -------------------------------------------------------------------------------- YEMEN & RED SEA
FRONTS = "Marib:3;Taizz:3.5;Al Dhale'e:2;Hodeidah:2;Al Jawf:0.8;Saada:0.7;Lahij:0.3;Al Bayda:1;Hajjah:1.2;Shabwah:0.2;Ibb:0.05"
TRUCE = [("2022-01-01", 1), ("2022-03-31", 1), ("2022-04-02", 0.4), ("2024-12-31", 0.4)]
comp("YEM", "SHL", "HOU", "YGM:3 CIV:1", (0.15, 1.5), FRONTS, [(d, r * 55) for d, r in TRUCE])
comp("YEM", "SHL", "YGM:2 GIANTS:1", "HOU", (0.05, 1.5), FRONTS, [(d, r * 25) for d, r in TRUCE])
comp("YEM", "B", "HOU", "YGM:3 GIANTS:1", (0.4, 3), FRONTS, [("2022-01-01", 75), ("2022-03-31", 60), ("2022-04-02", 14), ("2024-12-31", 12)])
comp("YEM", "AIR", "SAM", "HOU:3 CIV:1", (0.35, 2), FRONTS + ";Amanat al Asimah:2;Sanaa:1", [("2022-01-01", 55), ("2022-03-31", 35), ("2022-04-02", 0)])
comp("YEM", "SHL", "SAM", "CIV:2 HOU:1 MIG:0.5", (0.25, 1.5), "Saada:6;Hajjah:0.5;Al Jawf:0.3", [("2022-01-01", 14), ("2023-01-01", 18), ("2024-12-31", 18)])
comp("YEM", "DWU", "YGM", "HOU", (0, 0), FRONTS, flat(3))
comp("YEM", "B", "STC", "AQAP", (0.4, 2), "Abyan:4;Shabwah:3", [("2022-01-01", 2), ("2022-08-15", 2), ("2022-08-20", 9), ("2023-06-01", 5), ("2024-12-31", 4)])
comp("YEM", "IED", "AQAP", "STC", (0.4, 2), "Abyan:4;Shabwah:2;Al Bayda:0.5", [("2022-01-01", 1.5), ("2022-08-20", 3), ("2024-12-31", 2.5)])
spike("YEM", "B", "STC:2 GIANTS:1", "YGM", (0.5, 2), "Shabwah:1", [("2022-08-08", 6), ("2022-08-09", 8), ("2022-08-10", 6), ("2022-08-11", 3)])
comp("YEM", "VAC", "UAG", "CIV", (0.5, 1), "Taizz:4;Aden:2;Abyan:0.5;Al Bayda:1", flat(7))
comp("YEM", "ABD", "HOU", "CIV", (0, 0), "Amanat al Asimah:3;Hodeidah:1", flat(3))
comp("YEM", "ARR", "HOU", "CIV", (0, 0), "Amanat al Asimah:2;Hodeidah:1;Ibb:1", flat(2.2))
comp("YEM", "ARR", "STC", "CIV", (0, 0), "Aden:2;Lahij:1", flat(0.8))
comp("YEM", "IED", "HOU", "CIV", (0.5, 1), "Taizz:2;Hodeidah:3;Marib:1;Al Dhale'e:1", flat(4))
comp("YEM", "PP", "PRO", "", (0, 0), "Aden:3;Hadramawt:2;Taizz:2;Amanat al Asimah:1;Lahij:1;Al Mahrah:0.5;Shabwah:0.5", flat(8))
comp("YEM", "PP", "PRO", "", (0, 0), "Amanat al Asimah:5;Saada:2;Hodeidah:2;Hajjah:1;Sanaa:1;Ibb:1;Dhamar:1", [("2023-10-07", 0), ("2023-10-08", 28), ("2024-06-01", 20), ("2024-12-31", 16)])
RS = [("2023-11-18", 0), ("2023-11-19", 3), ("2024-01-10", 10), ("2024-03-15", 11), ("2024-07-01", 7), ("2024-10-01", 4), ("2024-12-31", 3)]
comp("YEM", "SHL", "HOU", "CINT:3 USM:1", (0.02, 2), "Hodeidah:1", RS, sites="Red Sea")
comp("YEM", "SHL", "HOU", "CINT:3 USM:1 UKM:0.3", (0.02, 2), "Aden:1", [(d, r * 0.5) for d, r in RS], sites="Gulf of Aden")
comp("YEM", "DWU", "USM:3 UKM:0.6", "HOU", (0, 0), "Hodeidah:1", [(d, r * 1.2) for d, r in RS], sites="Red Sea")
spike("YEM", "OTH", "HOU", "CINT", (0, 0), "Hodeidah:1", [("2023-11-19", 1)], sites="Red Sea", exact=True)
comp("YEM", "AIR", "USM:4 UKM:1", "HOU", (0.15, 2), "Hodeidah:4;Amanat al Asimah:1.5;Sanaa:1;Hajjah:1;Saada:1;Taizz:0.5;Al Bayda:0.5;Dhamar:0.3", [("2024-01-11", 0), ("2024-01-12", 18), ("2024-03-15", 12), ("2024-06-01", 8), ("2024-12-31", 6)])
spike("YEM", "AIR", "USM:4 UKM:1", "HOU", (0.1, 1), "Hodeidah:3;Amanat al Asimah:2;Hajjah:1;Saada:1;Taizz:1", [("2024-01-12", 22)])
spike("YEM", "AIR", "USM", "HOU", (0, 0), "Hodeidah:1", [("2024-01-20", 1)], sites="Al Hudaydah", exact=True)
spike("YEM", "AIR", "ISM", "HOU", (0.5, 2), "Hodeidah:1", [("2024-07-20", 4), ("2024-09-29", 4), ("2024-12-19", 3)], sites="Al Hudaydah,Ras Isa")
spike("YEM", "AIR", "ISM", "HOU", (0.5, 2), "Amanat al Asimah:1;Hodeidah:1", [("2024-12-19", 3), ("2024-12-26", 5)])
comp("SAU", "SHL", "HOU", "SAM:1 CIV:1", (0.1, 1), "Jizan:3;Najran:1", [("2022-01-01", 6), ("2022-03-31", 6), ("2022-04-02", 0.3), ("2024-12-31", 0.3)])
comp("SAU", "B", "SAM", "HOU", (0.3, 2), "Jizan:3;Najran:1", [("2022-01-01", 2), ("2022-03-31", 2), ("2022-04-02", 0.3), ("2024-12-31", 0.3)])
comp("SAU", "VAC", "SAM", "MIG", (0.4, 2), "Jizan:1", [("2022-01-01", 0.7), ("2023-08-31", 1), ("2024-12-31", 0.5)])

# ------------------------------------------------------------------------------------------- IRAN
IR_ALL = "Tehran:4;Khuzestan:2;Esfahan:1.5;Kurdistan:1;West Azerbaijan:1;Kermanshah:1;Fars:1.5;Razavi Khorasan:1.5;Sistan and Baluchestan:1;Gilan:1;Kerman:0.5;Alborz:1"
MAHSA_ADM = "Tehran:5;Kurdistan:3;West Azerbaijan:2;Sistan and Baluchestan:1.5;Alborz:1;Esfahan:1;Fars:1;Razavi Khorasan:1;Gilan:1;Kermanshah:1;Khuzestan:1;Kerman:0.5"
MAHSA = [("2022-09-15", 0), ("2022-09-17", 0.4), ("2022-09-21", 1), ("2022-10-15", 0.85), ("2022-11-20", 0.75), ("2022-12-05", 0.35), ("2022-12-25", 0.1), ("2023-01-31", 0)]
comp("IRN", "PP", "PRO", "", (0, 0), IR_ALL, [("2022-01-01", 19), ("2023-06-01", 16), ("2024-12-31", 13)])
comp("IRN", "PI", "PRO", "POLI", (0, 0), IR_ALL, flat(2))
comp("IRN", "VD", "RIO", "POLI", (0.03, 1), IR_ALL, flat(1.2))
comp("IRN", "EF", "POLI:3 IRGC:1 BASIJ:1", "PRO", (0.3, 1), IR_ALL, flat(0.3))
comp("IRN", "PP", "PRO", "", (0, 0), MAHSA_ADM, [(d, r * 190) for d, r in MAHSA])
comp("IRN", "PI", "PRO", "POLI:2 BASIJ:1", (0, 0), MAHSA_ADM, [(d, r * 45) for d, r in MAHSA])
comp("IRN", "VD", "RIO", "POLI:2 BASIJ:1", (0.05, 1), MAHSA_ADM, [(d, r * 60) for d, r in MAHSA])
comp("IRN", "EF", "POLI:3 IRGC:1 BASIJ:1", "PRO", (0.3, 2), MAHSA_ADM, [(d, r * 35) for d, r in MAHSA])
comp("IRN", "ARR", "POLI:2 IRGC:1", "PRO:1 CIV:1", (0, 0), MAHSA_ADM, [(d, r * 30) for d, r in MAHSA])
spike("IRN", "EF", "POLI:1 IRGC:2", "PRO", (1.0, 12), "Sistan and Baluchestan:1", [("2022-09-30", 6)], sites="Zahedan")
spike("IRN", "EF", "IRGC:2 POLI:1", "PRO", (0.6, 2), "Kurdistan:1;West Azerbaijan:1;Kermanshah:1", [("2022-11-16", 4), ("2022-11-17", 4), ("2022-11-19", 5), ("2022-11-20", 4)])
comp("IRN", "PP", "PRO", "", (0, 0), "Sistan and Baluchestan:1", [("2022-10-07", 0), ("2022-10-08", 2), ("2024-02-01", 2), ("2024-03-01", 0.5), ("2024-12-31", 0.5)], sites="Zahedan")
comp("IRN", "ARR", "POLI:2 IRGC:1", "CIV", (0, 0), IR_ALL, flat(3))
comp("IRN", "B", "JAA", "POLI:1 IRGC:2", (0.5, 2), "Sistan and Baluchestan:1", [("2022-01-01", 1.8), ("2023-11-30", 1.8), ("2023-12-15", 3), ("2024-12-31", 3)])
spike("IRN", "B", "JAA", "POLI:1 IRGC:2", (0.8, 4), "Sistan and Baluchestan:1", [("2023-12-15", 2), ("2024-04-04", 6)], sites="Rask,Chabahar,Saravan")
comp("IRN", "VAC", "IRGC", "CIV", (0.6, 1), "Sistan and Baluchestan:3;Kurdistan:1.2;Kermanshah:1;West Azerbaijan:1", flat(3.5))
comp("IRN", "VAC", "UAG", "CIV", (0.5, 1), "Sistan and Baluchestan:2;Khuzestan:1;Kurdistan:0.5", flat(2))
comp("IRN", "B", "IRGC", "PJAK:2 KDPI:1", (0.4, 1.5), "Kurdistan:2;West Azerbaijan:2;Kermanshah:1", flat(0.6))
spike("IRN", "IED", "ISK", "CIV", (1.0, 47), "Kerman:1", [("2024-01-03", 2)], exact=True)
spike("IRN", "VAC", "ISK", "CIV", (1.0, 13), "Fars:1", [("2022-10-26", 1)], exact=True)
spike("IRN", "VAC", "ISK", "CIV", (1.0, 2), "Fars:1", [("2023-08-13", 1)], exact=True)
spike("IRN", "AIR", "ISM", "IRGC", (0, 0), "Esfahan:1", [("2024-04-19", 2)], sites="Esfahan", exact=True)
spike("IRN", "AIR", "ISM", "IRGC", (0.3, 1), "Tehran:3;Khuzestan:1", [("2024-10-26", 12)])
spike("IRN", "DWU", "IRGC", "ISM", (0, 0), "Tehran:2;Khuzestan:1", [("2024-10-26", 6)])
spike("IRQ", "SHL", "IRI", "USM", (0, 0), "Al Anbar:1", [("2024-01-20", 1)], sites="Ain al-Asad Air Base", exact=True)


# fmt: on


# ------------------------------------------------------------------------------------ the engine
def parse_gazetteer() -> tuple[list[tuple[str, str]], pd.DataFrame]:
    """Admin1 units in order, and one row per town (unit index, location, admin2, lat, lon, ...)."""
    units, rows = [], []
    for line in GAZETTEER.strip().splitlines():
        cc, adm1, rest = line.split("|")
        for t in rest.split(";"):
            f = t.split(",") + ["0.03", "0.03"][: 7 - len(t.split(","))]
            rows.append((len(units), f[0], f[1], *map(float, f[2:7])))
        units.append((cc, adm1))
    cols = ["unit", "location", "admin2", "lat", "lon", "weight", "jlat", "jlon"]
    return units, pd.DataFrame(rows, columns=cols)


def parse_pool(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """'A:3 B:1' -> (aliases, probabilities); a bare alias weighs 1."""
    items = [(p.split(":") + ["1"])[:2] for p in spec.split()]
    w = np.array([float(x[1]) for x in items])
    return np.array([x[0] for x in items], dtype=object), w / max(w.sum(), 1e-9)


def daily_rate(c: dict) -> np.ndarray:
    """Expected events per day of a component, before the latent process."""
    idx = np.array([(pd.Timestamp(d) - START).days for d, _ in c["knots"]])
    val = np.array([v for _, v in c["knots"]], dtype=float)
    r = np.zeros(D)
    if c["spike"]:
        np.add.at(r, idx, val)
    else:
        days = np.arange(idx[0], idx[-1] + 1)
        r[days] = np.interp(days, idx, val) / 7.0
    return r


def actor(alias: str, cc: str) -> tuple[str, str]:
    name, inter, home = ACTORS[alias]
    return name.replace("{C}", COUNTRIES[cc][0]), "State forces" if home == cc else inter


def simulate_latent(rng, units, base_violent):
    """Latent log-intensity offsets per (admin1, week), with precursor and flare indicators."""
    A, names = len(units), list(LINKS)
    tidx = np.array([names.index(theatre_of(cc, a1)) for cc, a1 in units])
    link = np.array([[o in LINKS[t] for o in names] for t in names], dtype=float)
    phi, sigma = 0.8, 0.12
    eps = rng.normal(0, sigma, (A, W))
    X = np.zeros((A, W))
    X[:, 0] = eps[:, 0] / np.sqrt(1 - phi**2)
    for w in range(1, W):
        X[:, w] = phi * X[:, w - 1] + eps[:, w]
    F, PRE, FL, Q = (np.zeros((A, W)) for _ in range(4))
    # theatre surge signals: episodes in the expected counts, then flare-ups as they happen
    muT = np.zeros((len(names), W))
    np.add.at(muT, tidx, base_violent)
    prev = np.stack([muT[:, max(w - 4, 0) : max(w, 1)].mean(1) for w in range(W)], 1)
    sig = ((muT >= 1.7 * prev) & (prev >= 1)).astype(float)
    mean_v = base_violent.mean(1)
    share = mean_v / np.maximum(np.bincount(tidx, mean_v)[tidx], 1e-9)
    eligible = mean_v >= 0.3

    def add_flare(a, w, m, dur=None, lead=None):
        dur = rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]) if dur is None else dur
        for j, f in enumerate([1.0, 0.6, 0.35][: min(dur, W - w)]):
            F[a, w + j] += m * f
            FL[a, w + j] = 1
        if lead is None:  # half the flare-ups have a precursor: rising, deadlier, more actors
            lead = rng.integers(1, 4) if rng.random() < 0.5 else 0
        for j in range(1, min(lead, w) + 1):
            frac = (lead - j + 1) / (lead + 1)
            F[a, w - j] += 0.45 * m * frac
            PRE[a, w - j] = max(PRE[a, w - j], frac)
        FLARES.append((a, w, m, lead))

    for w in range(W):
        recent = sig[:, max(w - 4, 0) : w][:, ::-1]  # most recent week first
        cont = link @ (recent * 0.75 ** np.arange(recent.shape[1])).sum(1)
        boost = 1 + 2.0 * np.minimum(cont, 1.5)
        flared = np.zeros(len(names))
        for t in range(len(names)):  # theatre-wide flare-ups
            if rng.random() < 0.016 * boost[t]:
                m, dur = rng.uniform(1.1, 1.6), rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2])
                lead = rng.integers(1, 4) if rng.random() < 0.5 else 0
                members = np.where((tidx == t) & eligible)[0]
                for a in members[rng.random(len(members)) < 0.85]:
                    add_flare(a, w, m * rng.uniform(0.85, 1.1), dur, lead)
                flared[t] = 1
        for a in np.where(rng.random(A) < 0.005 * boost[tidx] * eligible)[0]:  # local flare-ups
            add_flare(a, w, rng.uniform(0.8, 1.6))
            flared[tidx[a]] += share[a]
        for a in np.where(rng.random(A) < 0.006 * eligible)[0]:  # quiet stretches
            Q[a, w : w + rng.integers(3, 9)] = -rng.uniform(0.4, 0.9)
        sig[:, w] = np.maximum(sig[:, w], flared >= 0.3)
    return X + F + Q, PRE, FL


def simulate_events(rng, units, towns) -> pd.DataFrame:
    """One row per simulated event: country, kind, admin1 unit, day, actors, town, fatalities."""
    uidx = {u: i for i, u in enumerate(units)}
    prepared, base_violent = [], np.zeros((len(units), W))
    for c in COMPONENTS:
        r = daily_rate(c)
        adm = dict((k, float(v)) for k, v in (p.rsplit(":", 1) for p in c["adm"].split(";")))
        ws = np.array(list(adm.values()))
        ids = np.array([uidx[(c["cc"], k)] for k in adm])
        mu = np.outer(ws / ws.sum(), np.bincount(np.arange(D) // 7, r, minlength=W))
        prepared.append((c, r, ids, mu))
        if c["kind"] in VIOLENT and not c["spike"]:
            np.add.at(base_violent, ids, mu)
    Z, PRE, FL = simulate_latent(rng, units, base_violent)
    fat_mult, diversity = 1 + 1.2 * PRE + 0.6 * FL, 0.45 * PRE + 0.1 * FL
    doers: dict[tuple, set] = {}  # who does this kind of event in this country
    for c in COMPONENTS:
        doers.setdefault((c["cc"], c["kind"]), set()).update(parse_pool(c["a1"])[0])
    for k, v in doers.items():
        v.update({"UAG"} if k[1] in ("B", "IED", "VAC") else set())
    frames = []
    for c, r, ids, mu in prepared:
        if c["exact"]:
            counts = np.rint(mu).astype(int)
        elif c["spike"]:
            counts = rng.poisson(mu)
        else:  # knots set the level, the latent process the rhythm
            mult = np.exp((1.0 if c["kind"] in VIOLENT else 0.5) * Z[ids])
            lam = mu * mult / mult.mean(1, keepdims=True)
            counts = rng.negative_binomial(20.0, 20.0 / (20.0 + lam))
        ai, wi = np.nonzero(counts)
        a_ev, w_ev = np.repeat(ids[ai], counts[ai, wi]), np.repeat(wi, counts[ai, wi])
        n = len(a_ev)
        if n == 0:
            continue
        # day within the week, following the component's daily profile
        rr = np.concatenate([r, np.zeros(W * 7 - D)]).reshape(W, 7) + 1e-9
        rr[-1, D - (W - 1) * 7 :] = 0
        cdf = np.cumsum(rr / rr.sum(1, keepdims=True), 1)
        day = np.minimum(w_ev * 7 + (rng.random(n)[:, None] > cdf[w_ev]).sum(1), D - 1)
        # town: the component's named sites, else the admin1's ordinary towns, by weight
        sites = set(filter(None, c["sites"].split(",")))
        town = np.zeros(n, dtype=int)
        for a in np.unique(a_ev):
            tl = towns[towns["unit"] == a]
            cand = tl[tl["location"].isin(sites)] if tl["location"].isin(sites).any() else tl
            cand = cand[(cand["weight"] > 0) | cand["location"].isin(sites)]
            wts = cand["weight"].clip(lower=1.0 if sites else 0.0).to_numpy()
            sel = a_ev == a
            town[sel] = rng.choice(cand.index.to_numpy(), sel.sum(), p=wts / wts.sum())
        # actors: more distinct actors in precursor and flare weeks
        p1, w1 = parse_pool(c["a1"])
        p2, w2 = parse_pool(c["a2"])
        a1 = p1[rng.choice(len(p1), n, p=w1)]
        a2 = p2[rng.choice(len(p2), n, p=w2)] if len(p2) else np.full(n, "", dtype=object)
        pool = np.array(sorted(doers[(c["cc"], c["kind"])]), dtype=object)
        swap = rng.random(n) < (diversity[a_ev, w_ev] if c["kind"] in VIOLENT else 0)
        a1[swap] = pool[rng.integers(0, len(pool), swap.sum())]
        same = swap & (a1 == a2)
        a1[same] = p1[rng.choice(len(p1), same.sum(), p=w1)]
        # fatalities: mostly 0, heavy tail, higher in precursor and flare weeks
        p_nz, med = c["fat"]
        fm = fat_mult[a_ev, w_ev]
        nz = rng.random(n) < np.minimum(0.97, p_nz * fm**0.7)
        size = np.rint(max(med, 1) * fm * rng.lognormal(-0.3, 0.95, n)).clip(1, 400)
        fat = np.where(nz, size, 0).astype(int)
        if c["exact"]:  # named incidents carry the reported toll
            fat = np.full(n, int(med) if p_nz >= 1 else 0)
        t = towns.loc[town]
        frames.append(pd.DataFrame({
            "cc": c["cc"], "kind": c["kind"], "unit": a_ev, "day": day, "a1": a1, "a2": a2,
            "location": t["location"].to_numpy(), "admin2": t["admin2"].to_numpy(),
            "lat": t["lat"].to_numpy() + rng.uniform(-1, 1, n) * t["jlat"].to_numpy(),
            "lon": t["lon"].to_numpy() + rng.uniform(-1, 1, n) * t["jlon"].to_numpy(),
            "fatalities": fat,
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def to_acled(rng, ev: pd.DataFrame, units) -> pd.DataFrame:
    """Turn simulated events into rows of the 31-column ACLED export."""
    n, dates = len(ev), DAYS[ev["day"].to_numpy()]
    kinds = ev["kind"].map(KINDS)
    names1 = [actor(a, cc) for a, cc in zip(ev["a1"], ev["cc"], strict=True)]
    names2 = [actor(a, cc) if a else ("", "") for a, cc in zip(ev["a2"], ev["cc"], strict=True)]
    inter2 = np.array([x[1] for x in names2], dtype=object)
    sources = []
    for cc, k in zip(ev["cc"], rng.integers(1, 3, n), strict=True):
        sources.append("; ".join(rng.choice(SOURCES[cc], k, replace=False)))
    months = pd.date_range("2024-01-01", periods=12, freq="MS").strftime("%B")
    notes = [
        f"[Simulated] On {d.day} {months[d.month - 1]} {d.year}, {n1} {VERBS[k]}"
        + (f" {n2}" if n2 and k != "PP" else "")
        + f" in {loc}."
        + (f" {f} reported killed." if f else "")
        for d, k, (n1, _), (n2, _), loc, f in zip(
            dates, ev["kind"], names1, names2, ev["location"], ev["fatalities"], strict=True
        )
    ]
    epoch = (dates - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)
    out = pd.DataFrame({
        "event_date": dates.strftime("%Y-%m-%d"), "year": dates.year,
        "time_precision": rng.choice([1, 2, 3], n, p=[0.85, 0.12, 0.03]),
        "disorder_type": [k[2] for k in kinds], "event_type": [k[0] for k in kinds],
        "sub_event_type": [k[1] for k in kinds],
        "actor1": [x[0] for x in names1], "assoc_actor_1": "", "inter1": [x[1] for x in names1],
        "actor2": [x[0] for x in names2], "assoc_actor_2": "", "inter2": inter2,
        "interaction": [f"{x[1]}-{i2}" if i2 else f"{x[1]} only" for x, i2 in zip(names1, inter2, strict=True)],
        "civilian_targeting": np.where(inter2 == "Civilians", "Civilian targeting", ""),
        "iso": [COUNTRIES[c][1] for c in ev["cc"]], "region": "Middle East",
        "country": [COUNTRIES[c][0] for c in ev["cc"]],
        "admin1": [units[u][1] for u in ev["unit"]], "admin2": ev["admin2"], "admin3": "",
        "location": ev["location"], "latitude": ev["lat"].round(4), "longitude": ev["lon"].round(4),
        "geo_precision": rng.choice([1, 2, 3], n, p=[0.6, 0.3, 0.1]), "source": sources,
        "source_scale": np.array(SCALES)[rng.integers(0, len(SCALES), n)], "notes": notes,
        "fatalities": ev["fatalities"],
        "tags": np.where(ev["kind"].isin(["PP", "PI", "VD"]), "crowd size=no report", ""),
        "timestamp": epoch.to_numpy() + rng.integers(2 * 86400, 10 * 86400, n), "cc": ev["cc"],
    })  # fmt: skip
    # ids: per country, in a content order that does not depend on how events were generated
    keys = ["event_date", "cc", "admin1", "location", "event_type", "sub_event_type", "actor1"]
    out = out.sort_values([*keys, "actor2", "latitude", "longitude"], kind="mergesort")
    out["event_id_cnty"] = out["cc"] + (out.groupby("cc").cumcount() + 10001).astype(str)
    return out.sort_values(["event_date", "event_id_cnty"], kind="mergesort")[COLUMNS]


def build() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    units, towns = parse_gazetteer()
    return to_acled(rng, simulate_events(rng, units, towns), units)


def write(df: pd.DataFrame, path: Path = OUT) -> None:
    """Gzipped CSV with mtime 0, so that the same frame always gives the same bytes."""
    raw = df.to_csv(index=False, lineterminator="\n", float_format="%.4f").encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(raw)
    path.write_bytes(buf.getvalue())


if __name__ == "__main__":
    frame = build()
    write(frame)
    print(f"wrote {OUT} ({len(frame):,} rows, {OUT.stat().st_size / 1e6:.2f} MB)")
