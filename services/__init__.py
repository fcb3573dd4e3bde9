"""The service layer: what KMH Search does, with no transport.

Typed, keyword-only functions over the runtime's catalog, store, searcher and indexer, raising the domain errors of
:mod:`services.errors`. The API routers, the web pages and the CLI are thin adapters over them: they read their
input (query parameters, form fields, options), call one service, and turn its result or error into their own
answer (JSON, a page, a line on the terminal).
"""
