"""Haystack components, one stage per module."""
