"""Training room: from a release to a spaCy pipeline and back to a push.

Read in this order: `export` turns a release into spaCy DocBins (train.spacy / dev.spacy /
test.spacy, relations in ``doc.user_data``); `train` trains and scores a pipeline on them and
compares it with the rule pre-annotator; `relation_model` is the learned relation component
(spaCy factory ``contraband_relation_model``); `model_check` reads a trained model's scores before
`push --model`; `spacy_cli` is spaCy's own command line with this project's factories registered
(`python -m annotation.training.spacy_cli ...`).
"""
