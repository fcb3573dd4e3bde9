"""Country names in the interface language. Documents name countries as their metadata gives them (mostly in
English, sometimes in French); filters keep that stored value, the pages show the name in the reader's language."""

from __future__ import annotations

# English -> French, for the countries of origin, transit and return that the KMH's programmes work with.
EN_FR = {
    "Afghanistan": "Afghanistan", "Albania": "Albanie", "Algeria": "Algérie", "Angola": "Angola",
    "Bangladesh": "Bangladesh", "Belgium": "Belgique", "Benin": "Bénin", "Burkina Faso": "Burkina Faso",
    "Burundi": "Burundi", "Cabo Verde": "Cap-Vert", "Cameroon": "Cameroun",
    "Central African Republic": "République centrafricaine", "Chad": "Tchad", "Comoros": "Comores",
    "Congo": "Congo", "Côte d'Ivoire": "Côte d'Ivoire", "Democratic Republic of the Congo":
    "République démocratique du Congo", "Djibouti": "Djibouti", "Egypt": "Égypte", "Eritrea": "Érythrée",
    "Ethiopia": "Éthiopie", "France": "France", "Gabon": "Gabon", "Gambia": "Gambie", "The Gambia": "Gambie",
    "Germany": "Allemagne", "Ghana": "Ghana", "Guinea": "Guinée", "Guinea-Bissau": "Guinée-Bissau",
    "Iraq": "Irak", "Italy": "Italie", "Kenya": "Kenya", "Kosovo": "Kosovo", "Lebanon": "Liban", "Liberia": "Liberia",
    "Libya": "Libye", "Madagascar": "Madagascar", "Mali": "Mali", "Mauritania": "Mauritanie", "Morocco": "Maroc",
    "Mozambique": "Mozambique", "Niger": "Niger", "Nigeria": "Nigéria", "Pakistan": "Pakistan",
    "Rwanda": "Rwanda", "Senegal": "Sénégal", "Sierra Leone": "Sierra Leone", "Somalia": "Somalie",
    "South Sudan": "Soudan du Sud", "Spain": "Espagne", "Sudan": "Soudan", "Syria": "Syrie",
    "Tanzania": "Tanzanie", "Togo": "Togo", "Tunisia": "Tunisie", "Uganda": "Ouganda",
    "United Kingdom": "Royaume-Uni", "Yemen": "Yémen", "Zambia": "Zambie", "Zimbabwe": "Zimbabwe",
}
FR_EN = {fr: en for en, fr in EN_FR.items()}


def country_name(name: str, lang: str) -> str:
    """The country's name in ``lang`` ("fr" or "en"); a name the table does not know is shown as stored."""
    if lang == "fr":
        return EN_FR.get(name, name)
    return FR_EN.get(name, name) if name not in EN_FR else name
