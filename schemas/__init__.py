"""Declared contracts: pandera models for tables that cross a boundary, pydantic models for config."""
