"""Pull side of contraband-corpus: Label Studio round trip, releases and spaCy models."""
