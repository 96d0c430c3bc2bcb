"""DAD Studio: a desktop studio and headless engine for Dhenara Agent DSL flows."""

__version__ = "0.1.0"
