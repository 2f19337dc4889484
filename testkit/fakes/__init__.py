"""Fake Telegram, Zalo OA, Zalo Bot and Rasa APIs: real HTTP servers on 127.0.0.1 that behave
like the real services (status codes, error bodies, rate limits, signatures).

Loa's own code talks to them unchanged, only the base URLs differ (``env.channel_env``).
``python -m testkit.fakes`` serves the channel fakes for a demo and prints the settings.
"""
