"""The ASGI application: web chat, channel webhooks, health; later the desk."""
