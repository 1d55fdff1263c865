"""`python -m annotation.training.spacy_cli ...`: spaCy's own command line with this
project's pipeline components registered first.

A pipeline trained by `contraband train` holds the learned relation component
(`contraband_relation_model`, annotation.training.relation_model). An installed contraband-corpus
declares it as a `spacy_factories` entry point, so `python -m spacy evaluate MODEL ...` finds it;
this wrapper also works from a checkout that is not installed (PYTHONPATH) or whose install
predates the entry point. Arguments are spaCy's: `python -m annotation.training.spacy_cli evaluate
models/ner/model-best build/spacy/test.spacy`.
"""

from __future__ import annotations

from spacy.cli import setup_cli

from annotation.training import relation_model  # noqa: F401  (registers contraband_relation_model)

if __name__ == "__main__":
    setup_cli()
