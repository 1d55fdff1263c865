"""Pull side of contraband-corpus: Label Studio round trip, releases and spaCy models.

Rooms by job, in the order data flows (each package's docstring lists its modules):

    preannotate/    spaCy pre-annotations of documents (rules, or a trained model)
    labelstudio/    everything that talks to Label Studio: server, client, push, pull
    release/        immutable Hugging Face dataset releases: rows, splits, card, hub
    training/       spaCy DocBins from a release, training, the relation model

The core beside them:

    records         the one canonical record: `AnnotatedTask` with its `Annotation`s
    schema          configs/schema.yaml and everything generated from it
    tasks           documents -> Label Studio task payloads (chunks of long documents)
    gold            hand-made gold annotations (seeds/gold) against a document's text
    validate        pulled annotations checked against text and schema
    adjudicate      one released annotation per task, by a documented policy
    agreement       inter-annotator agreement
    events          seizure events (+ event_fields: quantity, date, place of a mention)
    pseudonym       annotator pseudonyms (keyed hash of the email)
    secrets         secrets from the environment or a 0600 .env file
    locks           one writer at a time (push, pull, release)
    model_version   the version every set of predictions names
    project_settings  configs/labelstudio.yaml: overlap, sampling order
    annotators      accounts or the invite link for annotators

At the edges:

    pipeline        the verbs that chain several stages (push_corpus, pull_annotations, ...)
    demo            the README's main job on the seeds
    cli             the `contraband` program (curate, server); cli_commands the other verbs,
                    cli_options what they share
"""
