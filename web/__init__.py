"""Server-rendered web pages for practitioners, staff and organisers. Built in the web issue."""
