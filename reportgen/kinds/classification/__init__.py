"""The classification kind (binary and multiclass): encoding, sufficient statistics, metrics,
curves, the cell bootstrap and paired tests, slices, error analysis and their sections."""
