"""Old import path of the relation component, kept for installed entry points.

The component lives in `annotation.training.relation_model`. An environment installed before the
move still names ``annotation.relation_model:make_relation_model`` as its spaCy factory entry
point; this alias makes that entry point resolve to the same function (spaCy refuses two different
functions under one factory name). Remove it once every install has been re-run.
"""

from annotation.training.relation_model import make_relation_model

__all__ = ["make_relation_model"]
