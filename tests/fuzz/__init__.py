"""Property-based fuzzing of what clients can send."""
