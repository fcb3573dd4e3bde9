"""KMH Search core: settings, catalog, vector store, model kit and command line."""

__version__ = "0.1.0"
