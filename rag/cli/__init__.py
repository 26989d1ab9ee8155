"""The `rag` command: the composition root that wires the library, the chat UI and evaluation together."""
