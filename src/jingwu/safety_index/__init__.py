"""The daily Safety Index (平安指数): method, warnings, supervision, publication."""
