"""Comparisons: significance tests, the multiplicity correction and verdicts, the example
bootstrap, pairing of examples and cutting columns into slices; kind-independent."""
