"""The `kmh` command line: the top floor, over the services, the API server and the web pages."""
