"""Outputs of the report model: the self-contained HTML page (and its static twin), the
Markdown summary, JUnit XML and the email; written atomically."""
