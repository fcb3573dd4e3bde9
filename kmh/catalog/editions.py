"""Language editions: documents that are editions of one publication (a paper in French and in English).

The editions share a ``publication_id`` on their documents: the id of the edition the group started from (when that
edition leaves the group, the group takes the smallest id left). It is kept across new versions. A publication has
at most one edition per language (documents without a language are not compared). ``EditionsMixin`` adds the methods
to ``Catalog``; like the rest of it they return plain dataclasses.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .errors import EditionConflict, NotFound
from .models import Document, utcnow
from .visibility import Audience


@dataclass(frozen=True)
class EditionRecord:
    """One edition of a publication: its document's id, language, title and status."""

    id: str
    language: str | None
    title: str
    status: str
    filename: str = ""


_EDITION_FIELDS = ("id", "language", "title", "status", "filename")


def _edition(row: Any) -> EditionRecord:
    return EditionRecord(*(getattr(row, n) for n in _EDITION_FIELDS))


def check_languages(editions: Iterable[EditionRecord]) -> None:
    """EditionConflict when two of ``editions`` have the same language (None is not compared)."""
    seen: dict[str, str] = {}
    for e in editions:
        if e.language is None:
            continue
        if e.language in seen and seen[e.language] != e.id:
            raise EditionConflict(f"documents {seen[e.language]} and {e.id} are both in {e.language!r}: a publication "
                                  "has one edition per language")
        seen[e.language] = e.id


class EditionsMixin:
    """Linking documents as editions of one publication, and listing them."""

    def editions(self, doc_id: str, audience: Audience | None = None) -> builtins.list[EditionRecord]:
        """Every edition of the document's publication, itself included, by language then id; only the document
        itself when it has no other edition, [] when there is no such document. ``audience`` keeps the editions it
        may see."""
        with self.session() as s:  # type: ignore[attr-defined]
            doc = s.get(Document, doc_id)
            if doc is None:
                return []
            rows = [doc] if doc.publication_id is None else self._members(s, doc.publication_id)
            found = sorted((_edition(r) for r in rows), key=lambda e: (e.language or "", e.id))
        return [e for e in found if audience is None or audience.sees(e.status)]

    def publications(self, publication_ids: Iterable[str], audience: Audience) -> dict[str, builtins.list[EditionRecord]]:
        """The editions ``audience`` may see of each publication, by publication id; one query (search reads it)."""
        ids = builtins.list(dict.fromkeys(i for i in publication_ids if i))
        if not ids:
            return {}
        marks = ", ".join([self._placeholder] * len(ids))  # type: ignore[attr-defined]
        rows = self._select(  # type: ignore[attr-defined]
            f"SELECT publication_id, {', '.join(_EDITION_FIELDS)} FROM documents WHERE publication_id IN ({marks})"
            " ORDER BY language, id", ids)
        out: dict[str, builtins.list[EditionRecord]] = {}
        for pub, *fields in rows:
            edition = EditionRecord(*fields)
            if audience.sees(edition.status):
                out.setdefault(pub, []).append(edition)
        return out

    def id_by_filename(self, filename: str, *, exclude: str | None = None) -> str | None:
        """The id of the document with this file name (a published one before a retracted one, then the latest
        updated), or None."""
        with self.session() as s:  # type: ignore[attr-defined]
            query = select(Document.id).where(Document.filename == filename)
            if exclude is not None:
                query = query.where(Document.id != exclude)
            return s.scalar(query.order_by((Document.status == "published").desc(), Document.updated_at.desc(),
                                           Document.id).limit(1))

    def declaring(self, filename: str) -> builtins.list[str]:
        """Ids of the documents whose sidecar named ``filename`` as another edition."""
        with self.session() as s:  # type: ignore[attr-defined]
            return builtins.list(s.scalars(select(Document.id).where(Document.edition_of == filename)
                                           .order_by(Document.id)))

    def link_editions(self, doc_id: str, other_id: str, *, actor: Any = None, **detail: Any
                      ) -> builtins.list[EditionRecord]:
        """Make the two documents editions of one publication (their groups merge) and record it in the audit log
        (``document.link_edition`` on ``doc_id``), in one transaction; returns the publication's editions. Linking
        two editions of one publication again changes nothing and records nothing. Raises NotFound (naming the
        id), EditionConflict (the same document; two editions in one language)."""
        if doc_id == other_id:
            raise EditionConflict(f"document {doc_id} cannot be an edition of itself")
        with self.session(write=True) as s:  # type: ignore[attr-defined]
            doc, other = s.get(Document, doc_id), s.get(Document, other_id)
            for d, wanted in ((doc, doc_id), (other, other_id)):
                if d is None:
                    raise NotFound(wanted)
            assert doc is not None and other is not None
            if doc.publication_id is not None and doc.publication_id == other.publication_id:
                return sorted((_edition(r) for r in self._members(s, doc.publication_id)),
                              key=lambda e: (e.language or "", e.id))
            members = {r.id: r for g in (doc, other)
                       for r in ([g] if g.publication_id is None else self._members(s, g.publication_id))}
            check_languages(_edition(r) for r in members.values())
            publication = other.publication_id or doc.publication_id or other.id
            now = utcnow()
            for r in members.values():
                if r.publication_id != publication:
                    r.publication_id = publication
                    r.updated_at = now
            self.audit(actor, "document.link_edition", doc_id, s=s, edition_of=other_id,  # type: ignore[attr-defined]
                       publication=publication, **detail)
            s.flush()
            return sorted((_edition(r) for r in members.values()), key=lambda e: (e.language or "", e.id))

    def unlink_edition(self, doc_id: str, *, actor: Any = None) -> builtins.list[EditionRecord]:
        """Take the document out of its publication (a lone edition left behind is no publication any more) and
        record it in the audit log (``document.unlink_edition``), in one transaction; returns the editions left
        behind ([] when none). A sidecar's ``edition_of`` links it again when its document gets a new version
        (take it out of the sidecar to keep them apart). Raises NotFound."""
        with self.session(write=True) as s:  # type: ignore[attr-defined]
            doc = s.get(Document, doc_id, with_for_update=True)
            if doc is None:
                raise NotFound(doc_id)
            publication = doc.publication_id
            left = self._leave(s, doc)
            if publication is not None:
                self.audit(actor, "document.unlink_edition", doc_id, s=s, publication=publication,  # type: ignore[attr-defined]
                           left=[e.id for e in left])
            s.flush()
            return left

    def check_edition_language(self, doc_id: str, language: str | None) -> None:
        """EditionConflict when another edition of the document's publication is in ``language``."""
        with self.session() as s:  # type: ignore[attr-defined]
            doc = s.get(Document, doc_id)
            if doc is not None:
                self._check_language(s, doc, language)

    def _check_language(self, s: Session, doc: Document, language: str | None) -> None:
        if doc.publication_id is None:
            return
        check_languages(replace(_edition(r), language=language) if r.id == doc.id else _edition(r)
                        for r in self._members(s, doc.publication_id))

    def _leave(self, s: Session, doc: Document) -> builtins.list[EditionRecord]:
        """Take ``doc`` out of its publication inside ``s``; the editions left behind."""
        if doc.publication_id is None:
            return []
        publication = doc.publication_id
        now = utcnow()
        doc.publication_id = None
        doc.updated_at = now
        s.flush()
        rest = [r for r in self._members(s, publication) if r.id != doc.id]
        if len(rest) <= 1:
            key = None
        elif publication == doc.id:  # the group was named after it: the smallest id left names it now
            key = min(r.id for r in rest)
        else:
            key = publication
        if key != publication:
            s.execute(update(Document).where(Document.publication_id == publication)
                      .values(publication_id=key, updated_at=now))
            s.expire_all()
        return [] if key is None else sorted((_edition(r) for r in self._members(s, key)),
                                             key=lambda e: (e.language or "", e.id))

    @staticmethod
    def _members(s: Session, publication: str) -> builtins.list[Document]:
        return builtins.list(s.scalars(select(Document).where(Document.publication_id == publication)
                                       .order_by(Document.id)))
