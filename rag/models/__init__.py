"""The models: verified model files, the embedding model, LLM backends and their saved prompt states."""
