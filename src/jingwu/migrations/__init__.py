"""Alembic migrations of the Jingwu database (batch mode on SQLite)."""
