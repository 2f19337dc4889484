"""Zalo Official Account API v3 over httpx: webhook signature and events, sending, tokens."""
