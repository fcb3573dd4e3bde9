"""HTTP API (FastAPI): the search service over the index.

``api.app.create_app(settings)`` builds the app; ``api.server.serve(host, port, settings)`` runs it with uvicorn.
"""
