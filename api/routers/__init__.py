"""One router per resource: search, passages, documents, health, metrics."""
