"""The web pages: server-rendered Jinja2 templates over the API's functions (web -> api -> search/ingest)."""
