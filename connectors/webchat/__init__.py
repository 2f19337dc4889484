"""The embedded web chat: the page posts JSON to the app; replies are stored for the page."""
