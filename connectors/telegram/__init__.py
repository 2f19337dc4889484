"""Telegram through python-telegram-bot: webhook verification and parsing, sending."""
