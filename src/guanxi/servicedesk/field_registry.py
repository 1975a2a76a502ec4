"""Customer-page panels and timeline sources (filled in by the issue 5 work)."""
