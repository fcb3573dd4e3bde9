"""Ingestion: parse files, chunk them along their structure, embed and index the passages."""
