"""The vector store: Chroma on disk or behind `chroma run`, written in generations under a lock."""
