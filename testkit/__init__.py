"""What the tests and the benchmarks share (neither imports the other): fake channel and Rasa
APIs that are real HTTP servers (``testkit.fakes``) and the place-reading table."""
