"""Command-line checks of the imaging pipeline on real data (not imported by the library)."""
