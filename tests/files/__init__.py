"""The files API: listing, transfers, ranges, limits, path escapes, and jobs that find uploads."""
