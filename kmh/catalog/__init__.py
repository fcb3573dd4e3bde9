"""The catalog: what was ingested, in which version, and where its original is kept.

``Catalog(url)`` opens (and migrates) the database; its methods return plain ``DocumentRecord`` and
``VersionRecord`` dataclasses. Nothing touches a database at import time.
"""

from .access import GRANTS, AuditRecord, KeyRecord, UnknownKey
from .analytics import QueryCount, SearchLogRecord, SearchSummary, WeekCount
from .catalog import (
    MIGRATIONS_DIR,
    Catalog,
    DocumentRecord,
    DocumentRef,
    VersionRecord,
    check_record,
    make_engine,
)
from .checks import PassageCheckRecord, passage_check, sketches_match, text_digest, vector_sketch
from .crawl import CrawlPageRecord
from .editions import EditionRecord
from .errors import CatalogError, DuplicateDocument, DuplicateJob, EditionConflict, NotFound, UnknownJob
from .jobs import JobRecord
from .models import DOC_TYPES, ROLES, STATUSES
from .originals import original_relpath, sha256_bytes, sha256_file, store_original, store_original_file
from .seminars import RecordingRecord, SeminarRecord, SessionRecord, TranscriptRecord
from .topics import (
    AppliedDecisions,
    DecisionOutcome,
    DecisionsRefused,
    LinkDecisionRecord,
    TopicLinkRecord,
    TopicRecord,
    UnknownTopic,
)
from .visibility import PUBLIC, STAFF, Audience, audience_of

__all__ = [
    "PUBLIC",
    "STAFF",
    "Audience",
    "audience_of",
    "GRANTS",
    "ROLES",
    "AuditRecord",
    "DuplicateJob",
    "JobRecord",
    "KeyRecord",
    "UnknownJob",
    "UnknownKey",
    "DOC_TYPES",
    "MIGRATIONS_DIR",
    "STATUSES",
    "Catalog",
    "CatalogError",
    "CrawlPageRecord",
    "DocumentRecord",
    "DocumentRef",
    "DuplicateDocument",
    "EditionConflict",
    "EditionRecord",
    "NotFound",
    "PassageCheckRecord",
    "QueryCount",
    "RecordingRecord",
    "SearchLogRecord",
    "SearchSummary",
    "SeminarRecord",
    "SessionRecord",
    "AppliedDecisions",
    "DecisionOutcome",
    "DecisionsRefused",
    "LinkDecisionRecord",
    "TopicLinkRecord",
    "TopicRecord",
    "TranscriptRecord",
    "UnknownTopic",
    "VersionRecord",
    "WeekCount",
    "check_record",
    "make_engine",
    "original_relpath",
    "passage_check",
    "sketches_match",
    "text_digest",
    "vector_sketch",
    "sha256_bytes",
    "sha256_file",
    "store_original",
    "store_original_file",
]
