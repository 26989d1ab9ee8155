"""News from the web: a deadline-bound transport, a polite fetcher, feeds and sitemaps, articles."""
