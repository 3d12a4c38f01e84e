"""Stage 1, files -> runs: readers, column matching, each file's kind of run, validation."""
