"""Contracts between features: the typed events one feature publishes and others consume."""
