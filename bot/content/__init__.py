"""Answers from data: content models, queries, import/export and triage."""
