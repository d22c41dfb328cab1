"""Jingwu (警务): open-source public-safety operations platform."""
__version__ = "0.1.0"
