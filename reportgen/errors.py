"""The one exception type that the command line turns into a clean, one-line error."""

from __future__ import annotations


class ReportgenError(Exception):
    """Bad input or options: the message names the file, column or row and says what to do.

    The CLI prints it on one line and exits with code 2; library callers can catch it.
    """


class UndefinedMetric(ValueError):
    """A metric has no value for these data; the message is the one-line reason."""
