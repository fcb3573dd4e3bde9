"""Boilerplate rules shared by the parsers: web-page chrome that must not become searchable text.

Three kinds of rules:

* **lines** dropped wherever they appear (``is_boilerplate_line``): skip links, comment-form notices,
  contact lines, SDG tag lines, share buttons, cookie notices, separators;
* **section stops** (``is_section_stop``): headings such as "A lire aussi" / "Articles similaires" /
  "Laissez un commentaire" after which the rest of the container (HTML) or of the page (text) is
  related-content or comment chrome;
* **HTML containers** dropped whole (``DROP_TAGS``, ``DROP_ROLES``, ``is_boilerplate_container``).
"""

from __future__ import annotations

import re
import unicodedata

from ingest.model import Block


def norm_key(text: str) -> str:
    """Comparison key: no accents, case-folded, single spaces, no surrounding punctuation."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().replace("’", "'").replace("`", "'")
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t\n:.!?…·•|-–—»«\"'()[]")


# --- section stops ------------------------------------------------------------------------------

SECTION_STOPS = frozenset(
    norm_key(s)
    for s in (
        "A lire aussi",
        "À lire aussi",
        "Lire aussi",
        "A lire également",
        "À lire également",
        "Articles similaires",
        "Articles connexes",
        "Articles liés",
        "Sur le même sujet",
        "Dans la même rubrique",
        "Vous aimerez aussi",
        "Vous pourriez aussi aimer",
        "Vous aimerez peut-être aussi",
        "Autres articles",
        "Dernières actualités",
        "Les plus lus",
        "Related articles",
        "Related posts",
        "Related stories",
        "Related content",
        "Related news",
        "Read also",
        "Read more news",
        "See also",
        "You may also like",
        "You might also like",
        "Most read",
        "Latest news",
        "Laissez un commentaire",
        "Laisser un commentaire",
        "Ajouter un commentaire",
        "Poster un commentaire",
        "Commentaires",
        "Leave a comment",
        "Leave a reply",
        "Add a comment",
        "Post a comment",
        "Comments",
    )
)
_COMMENT_COUNT_RE = re.compile(r"^\d+ (commentaires?|comments?|reponses?|replies)$")


def is_section_stop(text: str) -> bool:
    """True for a heading that starts related-content / comment chrome ("Articles similaires", ...)."""
    key = norm_key(text)
    return key in SECTION_STOPS or bool(_COMMENT_COUNT_RE.match(key))


# --- lines --------------------------------------------------------------------------------------

# Exact lines dropped from web pages (html, md, txt) only: in a report "Accueil" may be a heading.
_WEB_DROP_EXACT = frozenset(
    norm_key(s)
    for s in (
        "Aller au contenu principal",
        "Aller au contenu",
        "Passer au contenu principal",
        "Passer au contenu",
        "Aller à la navigation",
        "Aller au menu",
        "Skip to main content",
        "Skip to content",
        "Skip to navigation",
        "Jump to navigation",
        "Menu",
        "Main menu",
        "Menu principal",
        "Toggle navigation",
        "Rechercher",
        "Search",
        "Recherche",
        "Partager",
        "Partager cet article",
        "Partager sur Facebook",
        "Partager sur Twitter",
        "Partager sur LinkedIn",
        "Share",
        "Share this",
        "Share this article",
        "Share this page",
        "Tweet",
        "Imprimer",
        "Print",
        "Retour en haut",
        "Retour en haut de page",
        "Back to top",
        "Lire la suite",
        "Read more",
        "Accueil",
        "Home",
        "Répondre",
        "Reply",
        "Annuler la réponse",
        "Cancel reply",
        "Publier le commentaire",
        "Post comment",
        "Commentaire",
        "Comment",
        "Nom",
        "Name",
        "E-mail",
        "Email",
        "Adresse de messagerie",
        "Site web",
        "Website",
        "Précédent",
        "Suivant",
        "Previous",
        "Next",
        "Article précédent",
        "Article suivant",
        "Previous post",
        "Next post",
        "Facebook",
        "Twitter",
        "X",
        "LinkedIn",
        "WhatsApp",
        "Instagram",
        "YouTube",
    )
)

# Skip links and comment-form notices: chrome in any format.
_ALWAYS_DROP_EXACT = frozenset(
    norm_key(s)
    for s in (
        "Aller au contenu principal",
        "Passer au contenu principal",
        "Skip to main content",
        "Skip to content",
    )
)
_ALWAYS_DROP_PATTERNS = [
    re.compile(p)
    for p in (
        r"^votre adresse (de )?(messagerie|e-?mail|courriel) ne sera pas publiee",
        r"^your email address will not be published",
        r"^les champs obligatoires sont (indiques|marques)",
        r"^required fields are marked",
    )
]
_WEB_DROP_PATTERNS = [
    re.compile(p)
    for p in (
        # comment forms
        r"^votre adresse (de )?(messagerie|e-?mail|courriel) ne sera pas publiee",
        r"^your email address will not be published",
        r"^les champs obligatoires sont (indiques|marques)",
        r"^required fields are marked",
        r"^enregistrer mon nom,? (mon )?(e-?mail|adresse)",
        r"^save my name,? email",
        r"^vous devez etre connecte pour (publier|poster) un commentaire",
        r"^you must be logged in to post a comment",
        # contact lines
        r"^pour (toute|plus d'|de plus amples|d'autres) (informations?|renseignements?)\b.*\b(contact|contacter|ecrire|adresser)",
        r"^(for|for more|for further) (information|details)\b.*\bcontact",
        r"^(contacts?|contact presse|contacts presse|media contacts?|press contacts?)$",
        r"^(tel|tél|tel\.|phone|telephone|fax|mobile|portable)\s*[.:]?\s*[+\d(]",
        # SDG / ODD tag lines ("SDG 8 - TRAVAIL DÉCENT ET CROISSANCE ÉCONOMIQUE")
        r"^(sdg|odd|ods)\s*\d{1,2}\s*[-–—:]",
        # tag / category lines
        r"^(tags?|mots-cles|mots cles|etiquettes?|categories?|rubriques?|keywords)\s*:",
        # share prompts
        r"^(partagez|partager) (cet|cette|sur)\b.{0,40}$",
        r"^share (this|on)\b.{0,40}$",
        # copyright
        r"^(©|\(c\)|copyright)\s",
        r"\b(tous droits reserves|all rights reserved)\b",
    )
]
# The lookbehind makes a match start only where a run of address characters starts: without it, a long run
# with no "@" (a 200 KB "word") is rescanned from each of its positions, quadratic in its length.
_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(\.[\w-]+)+")
_COOKIE_RE = re.compile(r"\bcookies?\b")
_COOKIE_CONTEXT_RE = re.compile(
    r"\b(accept|accepter|acceptez|refuser|utilis|use|uses|using|consent|parametr|settings|politique|policy|navigation|experience)"
)


def is_boilerplate_line(text: str, *, web: bool = True, exact: bool = True) -> bool:
    """True for a line (or a whole short block) that is page chrome, never content.

    ``web=True`` (html, md, txt: saved web pages) applies every rule; ``web=False`` (pdf, docx, pptx)
    only the rules that cannot hit a report's content (skip links, comment forms, cookie banners).
    ``exact=False`` leaves out the one-word lines ("Accueil", "Menu", "Partager").
    """
    stripped = text.strip()
    if not stripped:
        return True
    # separators such as "***" or "-----"
    if not any(ch.isalnum() for ch in stripped):
        return True
    key = norm_key(stripped)
    if not key or key in _ALWAYS_DROP_EXACT or any(p.search(key) for p in _ALWAYS_DROP_PATTERNS):
        return True
    words = len(key.split())
    if words <= 80 and _COOKIE_RE.search(key) and _COOKIE_CONTEXT_RE.search(key):
        return True
    if not web:
        return False
    if exact and (key in _WEB_DROP_EXACT or is_section_stop(stripped)):
        return True
    if any(p.search(key) for p in _WEB_DROP_PATTERNS):
        return True
    # "Ousmane DIALLO NTIECHE, nodiallo@iom.int": a short line that is mostly an e-mail address
    if words <= 12 and _EMAIL_RE.search(stripped):
        return True
    return False


# --- HTML containers ----------------------------------------------------------------------------

DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "canvas",
        "svg",
        "nav",
        "aside",
        "form",
        "button",
        "input",
        "select",
        "option",
        "textarea",
        "label",
        "dialog",
        "menu",
    }
)
# header/footer are dropped when they belong to the page, kept inside an <article>/<main>.
PAGE_CHROME_TAGS = frozenset({"header", "footer"})
DROP_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog", "menu", "menubar"}
)
# class/id tokens that mark chrome; tokens are compared whole (split on "-", "_", " ").
_CHROME_TOKENS = frozenset(
    {
        "cookie",
        "cookies",
        "consent",
        "gdpr",
        "rgpd",
        "cmp",
        "breadcrumb",
        "breadcrumbs",
        "share",
        "sharing",
        "sharedaddy",
        "social",
        "newsletter",
        "related",
        "comments",
        "comment",
        "respond",
        "sidebar",
        "skip",
        "skiplink",
        "navbar",
        "nav",
        "navigation",
        "menu",
        "pagination",
        "pager",
        "advert",
        "advertisement",
        "ads",
        "popup",
        "modal",
        "offcanvas",
        "toolbar",
        "subscribe",
        "similaires",
        "similar",
        "recommended",
        "tags",
        "printfriendly",
    }
)
_TOKEN_SPLIT_RE = re.compile(r"[\s_\-]+")


def is_boilerplate_container(class_and_id: str) -> bool:
    """True when an element's class/id names chrome (cookie banner, share bar, related posts, ...)."""
    if not class_and_id:
        return False
    tokens = {t for t in _TOKEN_SPLIT_RE.split(class_and_id.casefold()) if t}
    return bool(tokens & _CHROME_TOKENS)


# --- blocks -------------------------------------------------------------------------------------


def drop_boilerplate_blocks(blocks: list[Block], *, web: bool) -> list[Block]:
    """Drop blocks that are boilerplate lines. Tables are never dropped; list items only by the
    pattern rules (a list item "Accueil" or "Orientation" is content, a menu has been removed)."""
    out = []
    for block in blocks:
        if block.kind == "table":
            out.append(block)
        elif block.kind == "list_item":
            if not is_boilerplate_line(block.text, web=web, exact=False):
                out.append(block)
        elif not is_boilerplate_line(block.text, web=web):
            out.append(block)
    return out
