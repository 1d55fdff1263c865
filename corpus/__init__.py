"""Push side of contraband-corpus: ingest -> clean -> dedup, one `Document` record per page."""
