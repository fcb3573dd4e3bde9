"""HTTP API (FastAPI): the search service over the index. Built in the search-service issue."""
