"""The web page, as served and in a real browser."""
