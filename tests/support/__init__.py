"""What the tests share: settings and backends, real server processes, Flux, a browser."""
