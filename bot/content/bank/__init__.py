"""The question bank: matching a message against it (``index``), the entries valid now
(``store``), and the choice between a fixed intent, an entry and "I don't know" (``route``)."""
