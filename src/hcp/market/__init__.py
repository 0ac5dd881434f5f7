"""Market data: price ingestion, latest prices with staleness, history."""
