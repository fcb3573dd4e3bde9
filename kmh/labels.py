"""Names shown to readers for the catalog's closed values, in English and French: value -> (English, French).

The web pages (web.messages) and the Atom feeds (api.atom) both show them; they are declared here, once.
"""

from __future__ import annotations

DOC_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "report": ("Report", "Rapport"),
    "knowledge_paper": ("Knowledge paper", "Note de connaissances"),
    "handbook": ("Handbook", "Manuel"),
    "news": ("News", "Actualité"),
    "seminar_page": ("Seminar page", "Page de séminaire"),
    "recording": ("Recording", "Enregistrement"),
    "other": ("Other", "Autre"),
}

LANGUAGE_LABELS: dict[str, tuple[str, str]] = {
    "fr": ("French", "Français"),
    "en": ("English", "Anglais"),
    "es": ("Spanish", "Espagnol"),
    "pt": ("Portuguese", "Portugais"),
    "ar": ("Arabic", "Arabe"),
    "de": ("German", "Allemand"),
    "it": ("Italian", "Italien"),
}
