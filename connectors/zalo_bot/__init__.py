"""Zalo Bot API (the Telegram-like bot platform, for pilots) over httpx."""
