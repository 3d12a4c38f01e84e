"""The built-in demo: real scikit-learn models on bundled datasets, and look-alike
language-model runs made in code; nothing is downloaded."""
