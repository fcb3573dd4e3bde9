"""Search: turn a question into cited passages."""
