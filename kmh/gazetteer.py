"""Countries named in a text: a French and English gazetteer of country names and demonyms.

Each country has one canonical name, in English as the sidecars and the catalog store it ("Senegal", "Morocco",
"Côte d'Ivoire", "Democratic Republic of the Congo"), and the names and demonyms that point to it in French and
English ("Sénégal", "sénégalais", "Senegalese"...). The text's words are looked up in a table of every variant's
words (a regex of all the variants is fifty times slower). Matching ignores accents and case (except for a few English
words that are also common nouns: "Chad", "Turkey", "Jordan", "Georgia"), prefers the longest name
("Guinée-Bissau" is not "Guinée", "Nigeria" is not "Niger", "République démocratique du Congo" is not "Congo"),
and leaves out demonyms that are also language names ("français", "German", "russe").

``count_countries`` counts the mentions; ``main_countries`` keeps the few that a document is about.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

# canonical English name: (names in French and English, French demonyms (masculine singular), English demonyms)
COUNTRIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # Africa
    "Algeria": (("Algérie", "Algeria"), ("algérien",), ("Algerian",)),
    "Angola": (("Angola",), ("angolais",), ("Angolan",)),
    "Benin": (("Bénin", "Benin"), ("béninois",), ("Beninese",)),
    "Botswana": (("Botswana",), ("botswanais",), ("Motswana", "Batswana")),
    "Burkina Faso": (("Burkina Faso", "Burkina"), ("burkinabè", "burkinabé", "burkinabe"), ("Burkinabe", "Burkinabè")),
    "Burundi": (("Burundi",), ("burundais",), ("Burundian",)),
    "Cabo Verde": (("Cabo Verde", "Cap-Vert", "Cap Vert", "Cape Verde"), ("cap-verdien", "capverdien"),
                   ("Cape Verdean", "Cabo Verdean")),
    "Cameroon": (("Cameroun", "Cameroon"), ("camerounais",), ("Cameroonian",)),
    "Central African Republic": (("République centrafricaine", "Centrafrique", "Central African Republic"),
                                 ("centrafricain",), ("Central African",)),
    "Chad": (("Tchad", "Chad"), ("tchadien",), ("Chadian",)),
    "Comoros": (("Comores", "Comoros", "Union des Comores"), ("comorien",), ("Comorian",)),
    "Congo": (("Congo", "République du Congo", "Republic of the Congo", "Congo-Brazzaville", "Congo Brazzaville"),
              ("congolais",), ("Congolese",)),
    "Côte d'Ivoire": (("Côte d'Ivoire", "Cote d'Ivoire", "Ivory Coast"), ("ivoirien",), ("Ivorian",)),
    "Democratic Republic of the Congo": (
        ("République démocratique du Congo", "RDC", "RD Congo", "Congo-Kinshasa", "Congo Kinshasa",
         "Democratic Republic of the Congo", "Democratic Republic of Congo", "DRC", "DR Congo"), (), ()),
    "Djibouti": (("Djibouti",), ("djiboutien",), ("Djiboutian",)),
    "Egypt": (("Égypte", "Egypte", "Egypt"), ("égyptien",), ("Egyptian",)),
    "Equatorial Guinea": (("Guinée équatoriale", "Equatorial Guinea"), ("équato-guinéen",), ("Equatoguinean",)),
    "Eritrea": (("Érythrée", "Erythrée", "Eritrea"), ("érythréen",), ("Eritrean",)),
    "Eswatini": (("Eswatini", "Swaziland"), ("swazi",), ("Swazi",)),
    "Ethiopia": (("Éthiopie", "Ethiopie", "Ethiopia"), ("éthiopien",), ("Ethiopian",)),
    "Gabon": (("Gabon",), ("gabonais",), ("Gabonese",)),
    "Gambia": (("Gambie", "Gambia", "The Gambia"), ("gambien",), ("Gambian",)),
    "Ghana": (("Ghana",), ("ghanéen",), ("Ghanaian",)),
    "Guinea": (("Guinée", "Guinea", "Guinée-Conakry", "Guinée Conakry", "Guinea-Conakry"), ("guinéen",), ("Guinean",)),
    "Guinea-Bissau": (("Guinée-Bissau", "Guinée Bissau", "Guinea-Bissau", "Guinea Bissau"), ("bissau-guinéen",),
                      ("Bissau-Guinean",)),
    "Kenya": (("Kenya",), ("kényan", "kenyan"), ("Kenyan",)),
    "Lesotho": (("Lesotho",), ("lesothan",), ("Basotho", "Mosotho")),
    "Liberia": (("Libéria", "Liberia"), ("libérien",), ("Liberian",)),
    "Libya": (("Libye", "Libya"), ("libyen",), ("Libyan",)),
    "Madagascar": (("Madagascar",), ("malgache",), ("Malagasy",)),
    "Malawi": (("Malawi",), ("malawite", "malawien"), ("Malawian",)),
    "Mali": (("Mali",), ("malien",), ("Malian",)),
    "Mauritania": (("Mauritanie", "Mauritania"), ("mauritanien",), ("Mauritanian",)),
    "Mauritius": (("Île Maurice", "Ile Maurice", "Mauritius"), ("mauricien",), ("Mauritian",)),
    "Morocco": (("Maroc", "Morocco"), ("marocain",), ("Moroccan",)),
    "Mozambique": (("Mozambique",), ("mozambicain",), ("Mozambican",)),
    "Namibia": (("Namibie", "Namibia"), ("namibien",), ("Namibian",)),
    "Niger": (("Niger",), ("nigérien",), ("Nigerien",)),
    "Nigeria": (("Nigéria", "Nigeria"), ("nigérian", "nigerian"), ("Nigerian",)),
    "Rwanda": (("Rwanda",), ("rwandais",), ("Rwandan",)),
    "Sao Tome and Principe": (("Sao Tomé-et-Principe", "Sao Tome-et-Principe", "São Tomé and Príncipe",
                               "Sao Tome and Principe"), ("santoméen",), ("Santomean",)),
    "Senegal": (("Sénégal", "Senegal"), ("sénégalais",), ("Senegalese",)),
    "Seychelles": (("Seychelles",), ("seychellois",), ("Seychellois",)),
    "Sierra Leone": (("Sierra Leone",), ("sierra-léonais", "sierraléonais"), ("Sierra Leonean",)),
    "Somalia": (("Somalie", "Somalia"), ("somalien",), ("Somalian",)),
    "South Africa": (("Afrique du Sud", "South Africa"), ("sud-africain",), ("South African",)),
    "South Sudan": (("Soudan du Sud", "Sud-Soudan", "South Sudan"), ("sud-soudanais",), ("South Sudanese",)),
    "Sudan": (("Soudan", "Sudan"), ("soudanais",), ("Sudanese",)),
    "Tanzania": (("Tanzanie", "Tanzania"), ("tanzanien",), ("Tanzanian",)),
    "Togo": (("Togo",), ("togolais",), ("Togolese",)),
    "Tunisia": (("Tunisie", "Tunisia"), ("tunisien",), ("Tunisian",)),
    "Uganda": (("Ouganda", "Uganda"), ("ougandais",), ("Ugandan",)),
    "Zambia": (("Zambie", "Zambia"), ("zambien",), ("Zambian",)),
    "Zimbabwe": (("Zimbabwe",), ("zimbabwéen",), ("Zimbabwean",)),
    # Europe (destination and transit countries); demonyms that are language names are left out
    "Albania": (("Albanie", "Albania"), ("albanais",), ("Albanian",)),
    "Austria": (("Autriche", "Austria"), ("autrichien",), ("Austrian",)),
    "Belgium": (("Belgique", "Belgium"), ("belge",), ("Belgian",)),
    "Bosnia and Herzegovina": (("Bosnie-Herzégovine", "Bosnie", "Bosnia and Herzegovina", "Bosnia"), ("bosnien",),
                               ("Bosnian",)),
    "Bulgaria": (("Bulgarie", "Bulgaria"), (), ()),
    "Cyprus": (("Chypre", "Cyprus"), ("chypriote",), ("Cypriot",)),
    "Denmark": (("Danemark", "Denmark"), (), ()),
    "Finland": (("Finlande", "Finland"), (), ()),
    "France": (("France",), (), ()),
    "Germany": (("Allemagne", "Germany"), (), ()),
    "Greece": (("Grèce", "Greece"), (), ()),
    "Hungary": (("Hongrie", "Hungary"), (), ()),
    "Ireland": (("Irlande", "Ireland"), ("irlandais",), ("Irish",)),
    "Italy": (("Italie", "Italy"), (), ()),
    "Kosovo": (("Kosovo",), ("kosovar",), ("Kosovar",)),
    "Luxembourg": (("Luxembourg",), ("luxembourgeois",), ()),
    "Malta": (("Malte", "Malta"), (), ()),
    "Netherlands": (("Pays-Bas", "Pays Bas", "Netherlands", "Holland", "Hollande"), ("néerlandais",), ("Dutch",)),
    "North Macedonia": (("Macédoine du Nord", "North Macedonia", "Macédoine", "Macedonia"), (), ()),
    "Norway": (("Norvège", "Norway"), (), ()),
    "Poland": (("Pologne", "Poland"), (), ()),
    "Portugal": (("Portugal",), (), ()),
    "Romania": (("Roumanie", "Romania"), (), ()),
    "Russia": (("Russie", "Russia", "Fédération de Russie", "Russian Federation"), (), ()),
    "Serbia": (("Serbie", "Serbia"), (), ()),
    "Spain": (("Espagne", "Spain"), (), ()),
    "Sweden": (("Suède", "Sweden"), (), ()),
    "Switzerland": (("Suisse", "Switzerland"), (), ("Swiss",)),
    "Turkey": (("Turquie", "Turkey", "Türkiye", "Turkiye"), (), ()),
    "Ukraine": (("Ukraine",), ("ukrainien",), ("Ukrainian",)),
    "United Kingdom": (("Royaume-Uni", "Royaume Uni", "United Kingdom", "Grande-Bretagne", "Great Britain", "UK"),
                       ("britannique",), ("British",)),
    # Asia, the Middle East and the Americas
    "Afghanistan": (("Afghanistan",), ("afghan",), ("Afghan",)),
    "Bangladesh": (("Bangladesh",), ("bangladais",), ("Bangladeshi",)),
    "Canada": (("Canada",), ("canadien",), ("Canadian",)),
    "China": (("Chine", "China"), (), ()),
    "Georgia": (("Géorgie", "Georgia"), (), ()),
    "Haiti": (("Haïti", "Haiti"), ("haïtien", "haitien"), ("Haitian",)),
    "India": (("Inde", "India"), (), ()),
    "Iran": (("Iran",), ("iranien",), ("Iranian",)),
    "Iraq": (("Irak", "Iraq"), ("irakien",), ("Iraqi",)),
    "Jordan": (("Jordanie", "Jordan"), ("jordanien",), ("Jordanian",)),
    "Lebanon": (("Liban", "Lebanon"), ("libanais",), ("Lebanese",)),
    "Nepal": (("Népal", "Nepal"), ("népalais",), ("Nepalese", "Nepali")),
    "Pakistan": (("Pakistan",), ("pakistanais",), ("Pakistani",)),
    "Papua New Guinea": (("Papouasie-Nouvelle-Guinée", "Papouasie Nouvelle-Guinée", "Papua New Guinea"), (), ()),
    "Saudi Arabia": (("Arabie saoudite", "Saudi Arabia"), ("saoudien",), ("Saudi",)),
    "Sri Lanka": (("Sri Lanka",), ("sri-lankais",), ("Sri Lankan",)),
    "Syria": (("Syrie", "Syria"), ("syrien",), ("Syrian",)),
    "United States": (("États-Unis", "Etats-Unis", "United States", "USA"), (), ()),
    "Yemen": (("Yémen", "Yemen"), ("yéménite",), ("Yemeni",)),
}

# English words that are also common nouns or names: matched only when capitalised as in the text.
_CASE_SENSITIVE = frozenset({"Chad", "Turkey", "Jordan", "Georgia", "Guinea", "UK", "USA", "DRC", "RDC"})


def fold(text: str) -> str:
    """Accents removed, typographic apostrophes and dashes made plain (case kept)."""
    text = text.replace("’", "'").replace("‘", "'").replace("‐", "-").replace("‑", "-")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _french_forms(base: str) -> list[str]:
    """A French demonym and its feminine and plural forms ("ivoirien", "ivoirienne", "ivoiriens", ...)."""
    if base.endswith(("ais", "ois")):
        return [base, base + "e", base + "es"]
    if base.endswith(("ien", "éen")):
        return [base, base + "ne", base + "nes", base + "s"]
    if base.endswith(("e", "è", "é")):
        return [base, base + "s"]
    return [base, base + "e", base + "es", base + "s"]


_TOKEN_RE = re.compile(r"\w+")
_JOINER_RE = re.compile(r"[\s'-]{1,3}")  # what may stand between the words of a name: "Guinée-Bissau", "Côte d'Ivoire"


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN_RE.findall(fold(text)))


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[tuple[str, ...], tuple[str, tuple[str, ...] | None]], int]:
    """Each variant's lowercase words -> (canonical name, the exact words when case matters), and the longest
    variant's number of words."""
    lexicon: dict[tuple[str, ...], tuple[str, tuple[str, ...] | None]] = {}
    for country, (names, fr_demonyms, en_demonyms) in COUNTRIES.items():
        variants = [(name, name in _CASE_SENSITIVE) for name in names]
        variants += [(form, False) for demonym in fr_demonyms for form in _french_forms(demonym)]
        variants += [(form, False) for demonym in en_demonyms for form in (demonym, demonym + "s")]
        for variant, exact in variants:
            words = _tokens(variant)
            lexicon[tuple(w.lower() for w in words)] = (country, words if exact else None)
    return lexicon, max(len(key) for key in lexicon)


def find_countries(text: str) -> list[tuple[int, int, str]]:
    """Every mention of a country in ``text``: (start, end, canonical name) in the folded text, in order; the
    longest name wins ("Guinée-Bissau", not "Guinée")."""
    lexicon, longest = _lexicon()
    folded = fold(text)
    spans = [(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(folded)]
    lower = [word.lower() for _s, _e, word in spans]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(spans):
        for size in range(min(longest, len(spans) - i), 0, -1):
            entry = lexicon.get(tuple(lower[i:i + size]))
            if entry is None:
                continue
            country, exact = entry
            if exact is not None and tuple(word for _s, _e, word in spans[i:i + size]) != exact:
                continue
            if any(not _JOINER_RE.fullmatch(folded[spans[k][1]:spans[k + 1][0]]) for k in range(i, i + size - 1)):
                continue  # "la Guinée. Bissau ..." is not one name
            found.append((spans[i][0], spans[i + size - 1][1], country))
            i += size
            break
        else:
            i += 1
    return found


def count_countries(text: str) -> Counter[str]:
    """How many times each country (canonical name) is named in ``text``."""
    return Counter(country for _start, _end, country in find_countries(text))


def main_countries(text: str, title: str | None = None, *, limit: int = 3, min_mentions: int = 2) -> list[str]:
    """The few countries a document is about: named in its ``title``, or at least ``min_mentions`` times in
    ``text`` and at least half as often as the most named one (a title counts 3); most named first, at most ``limit``."""
    counts = count_countries(text)
    in_title = set(count_countries(title)) if title else set()
    scores = {country: n + (3 if country in in_title else 0) for country, n in counts.items()}
    for country in in_title:
        scores.setdefault(country, 3)
    if not scores:
        return []
    top = max(scores.values())
    kept = [c for c, score in scores.items() if (c in in_title or score >= min_mentions) and score * 2 >= top]
    kept.sort(key=lambda c: (-scores[c], c))
    return kept[:limit]
