"""Filled in by issue 5 work."""
