"""Ingestion: files and web pages -> clean documents -> sentence-aligned chunks -> vectors in the store."""
