"""Engines that evaluate classification runs where they lie (DuckDB, Spark SQL), for runs
larger than memory; the in-memory engine is the kinds themselves."""
