"""Figures, the review app and HTML reports."""
