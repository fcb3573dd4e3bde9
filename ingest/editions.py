"""Language editions named by sidecars: ``edition_of: <file name of another edition>`` links the two documents as
editions of one publication (kmh.catalog.editions) at the end of an ingest run, whatever order the files came in.

A document that is new or updated in the run is linked to the document its ``edition_of`` names (looked up by file
name among the catalogued documents, those of this run included); a new document is also linked to the documents
catalogued earlier whose ``edition_of`` names its file (the other edition came first). A name that matches no
document, or a link the catalog refuses (two editions in one language), is noted on the file's result: the document
itself is ingested all the same, and linked when the other edition arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ingest.model import FileResult

if TYPE_CHECKING:
    from kmh.catalog import Catalog


class EditionLinks:
    """Links the editions the run's sidecars name, once the run's documents are catalogued."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def resolve(self, results: Iterable[FileResult]) -> int:
        """Link the editions named by the documents of ``results`` (new or updated ones), and those naming the new
        documents; notes on the results say what could not be linked. Returns how many links were made."""
        from kmh.catalog import EditionConflict, NotFound

        linked = 0
        for r in results:
            if r.status not in ("new", "updated") or not r.doc_id:
                continue
            doc = self.catalog.get(r.doc_id)
            if doc is None:
                continue
            pairs: list[tuple[str, str]] = []
            if doc.edition_of:
                other = self.catalog.id_by_filename(doc.edition_of, exclude=doc.id)
                if other is None:
                    r.notes.append(f"edition_of: no document named {doc.edition_of!r} yet; linked when it is ingested")
                else:
                    pairs.append((doc.id, other))
            if r.status == "new":
                pairs += [(waiting, doc.id) for waiting in self.catalog.declaring(doc.filename) if waiting != doc.id]
            for doc_id, other in pairs:
                try:
                    before = {e.id for e in self.catalog.editions(doc_id)}
                    if other in before:
                        continue
                    self.catalog.link_editions(doc_id, other, source="sidecar")
                    linked += 1
                except EditionConflict as exc:
                    r.notes.append(f"edition_of: not linked: {exc}")
                except NotFound:  # removed meanwhile
                    continue
        return linked
