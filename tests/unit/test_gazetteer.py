"""The French/English gazetteer of countries: names, demonyms, look-alikes, and the few countries kept."""

from __future__ import annotations

import pytest

from kmh.gazetteer import COUNTRIES, count_countries, find_countries, main_countries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("au Sénégal, les Sénégalais, une entreprise sénégalaise, Senegalese returnees", ["Senegal"] * 4),
        ("le Maroc, des marocaines, Moroccan officials, in Morocco", ["Morocco"] * 4),
        ("en Côte d’Ivoire, les Ivoiriens, Ivorian youth, Cote d'Ivoire", ["Côte d'Ivoire"] * 4),
        ("la Guinée et la Guinée-Bissau", ["Guinea", "Guinea-Bissau"]),
        ("Guinée équatoriale, Papua New Guinea, Guinea", ["Equatorial Guinea", "Papua New Guinea", "Guinea"]),
        ("des Bissau-Guinéens et des Guinéens", ["Guinea-Bissau", "Guinea"]),
        ("le Niger et le Nigeria, nigériens et nigérians, Nigerien and Nigerian",
         ["Niger", "Nigeria", "Niger", "Nigeria", "Niger", "Nigeria"]),
        ("la RDC, la République démocratique du Congo, le Congo, DRC",
         ["Democratic Republic of the Congo", "Democratic Republic of the Congo", "Congo",
          "Democratic Republic of the Congo"]),
        ("le Soudan du Sud et le Soudan", ["South Sudan", "Sudan"]),
        ("Burkina Faso, les Burkinabè, au Cap-Vert", ["Burkina Faso", "Burkina Faso", "Cabo Verde"]),
        ("in The Gambia, la Gambie", ["Gambia", "Gambia"]),
        ("en Allemagne, en Italie et en Espagne", ["Germany", "Italy", "Spain"]),
    ],
)
def test_names_and_demonyms(text, expected):
    assert [country for _s, _e, country in find_countries(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "un document en français, in French, en allemand",  # demonyms that are language names are left out
        "the chad of a ballot, a roast turkey, a georgia pine",  # lower-case English look-alikes
        "Maurice Dupont a présidé la séance",  # a first name, not Mauritius
        "Nigerians" + "x",  # inside a longer word
    ],
)
def test_not_countries(text):
    assert find_countries(text) == []


def test_canonical_names_are_the_sidecars_and_cover_africa():
    africa = {"Algeria", "Angola", "Benin", "Botswana", "Burkina Faso", "Burundi", "Cabo Verde", "Cameroon",
              "Central African Republic", "Chad", "Comoros", "Congo", "Democratic Republic of the Congo",
              "Côte d'Ivoire", "Djibouti", "Egypt", "Equatorial Guinea", "Eritrea", "Eswatini", "Ethiopia", "Gabon",
              "Gambia", "Ghana", "Guinea", "Guinea-Bissau", "Kenya", "Lesotho", "Liberia", "Libya", "Madagascar",
              "Malawi", "Mali", "Mauritania", "Mauritius", "Morocco", "Mozambique", "Namibia", "Niger", "Nigeria",
              "Rwanda", "Sao Tome and Principe", "Senegal", "Seychelles", "Sierra Leone", "Somalia", "South Africa",
              "South Sudan", "Sudan", "Tanzania", "Togo", "Tunisia", "Uganda", "Zambia", "Zimbabwe"}
    assert africa <= set(COUNTRIES)
    assert {"France", "Germany", "Italy", "Spain", "Belgium", "United Kingdom", "Afghanistan", "Iraq"} <= set(COUNTRIES)
    # the names the corpus sidecars use
    assert {"Morocco", "Senegal", "Togo"} <= set(COUNTRIES)


def test_counts_and_the_few_main_countries():
    text = ("Les migrants maliens de retour au Mali. Le Mali a accueilli 300 personnes. Des Maliens témoignent. "
            "Le Sénégal et les Sénégalais. Un expert venu du Ghana.")
    assert count_countries(text) == {"Mali": 4, "Senegal": 2, "Ghana": 1}
    assert main_countries(text) == ["Mali", "Senegal"]  # Ghana is named once, in passing
    assert main_countries(text, title="Retours au Ghana") == ["Ghana", "Mali", "Senegal"]  # the title counts 3
    assert main_countries("le Togo, le Bénin, le Ghana, le Mali, le Niger " * 2, limit=3) == ["Benin", "Ghana", "Mali"]
    # a country named far less often than the main one is not kept
    assert main_countries("Maroc " * 10 + "Mali Mali") == ["Morocco"]
    assert main_countries("") == []
