"""The cleaner's settings: configs/clean.yaml read through a typed model into `CleanConfig`.

Unknown keys, wrong types (`day_first: "no"` is not a boolean) and out-of-range values are
refused in one error naming the file, the key path and the nearest valid name
(`corpus.settings`). The glue section is checked against `GlueConfig`'s own fields.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, create_model

from ..boilerplate import DEFAULT_SKETCH_LG_SIZE
from ..errors import ConfigError
from ..glue import GlueConfig
from ..settings import SettingsModel, default_config_path, load_settings


@dataclass(frozen=True)
class CleanConfig:
    """Rules and thresholds of the cleaner, loaded from configs/clean.yaml."""

    head_max_lines: int = 15
    title_max_words: int = 25
    title_window_lines: int = 8  # the title is looked for this close above the article
    paragraph_min_words: int = 12
    day_first: bool = True
    menu_words: frozenset[str] = frozenset()
    menu_min_words: int = 2
    menu_separators: tuple[str, ...] = ("|",)
    menu_item_max_words: int = 3
    chrome_max_words: int = 40  # longer lines are article text: no chrome rule is tried
    chrome_patterns: tuple[re.Pattern[str], ...] = ()
    block_headers: tuple[re.Pattern[str], ...] = ()
    link_max_words: int = 20
    tail_min_fraction: float = 0.5
    slug_min_words: int = 4
    slug_min_similarity: float = 0.85
    doubled_min_words: int = 3
    repeated_min_chars: int = 8
    byline_pattern: re.Pattern[str] = re.compile(r"^by\s+(?P<names>.+)$", re.I)
    byline_max_words: int = 12
    byline_separators: re.Pattern[str] = re.compile(r"\s*/\s*")
    photo_credit_pattern: re.Pattern[str] = re.compile(r"photo:\s*(?P<names>.+)$", re.I)
    # cheap pre-check: an ASCII line is only searched for a credit when it contains one of
    # these words (case-insensitive); every match of the pattern must contain one. Empty:
    # always search.
    photo_credit_words: tuple[str, ...] = ()
    boilerplate_min_pages: int = 3
    boilerplate_min_fraction: float = 0.3
    boilerplate_max_words: int = 12
    boilerplate_sketch_lg_size: int = DEFAULT_SKETCH_LG_SIZE
    glue: GlueConfig = field(default_factory=GlueConfig)
    # the line classifier (corpus/clean/classify.py): a line whose content probability is
    # below `min_content_probability` is removed as `boilerplate_line`; one at or above
    # `strong_content_probability` is never cut as part of a related-news block
    classifier_enabled: bool = True
    min_content_probability: float | None = None  # None: the model's own threshold
    strong_content_probability: float = 0.5


# -- configs/clean.yaml as written ------------------------------------------------------------


class _Head(SettingsModel):
    max_lines: int = Field(15, ge=1)
    title_max_words: int = Field(25, ge=1)
    title_window_lines: int = Field(8, ge=1)


class _Paragraph(SettingsModel):
    min_words: int = Field(12, ge=1)


class _Dates(SettingsModel):
    day_first: bool = True


class _Chrome(SettingsModel):
    menu_words: list[str] = []
    menu_min_words: int = Field(2, ge=1)
    menu_separators: list[str] = ["|"]
    menu_item_max_words: int = Field(3, ge=1)
    max_words: int = Field(40, ge=1)
    line_patterns: list[str] = []


class _Blocks(SettingsModel):
    header_patterns: list[str] = []
    link_max_words: int = Field(20, ge=1)
    tail_min_fraction: float = Field(0.5, ge=0.0, le=1.0)


class _Slug(SettingsModel):
    min_words: int = Field(4, ge=1)
    min_similarity: float = Field(0.85, gt=0.0, le=1.0)


class _Doubled(SettingsModel):
    min_words: int = Field(3, ge=1)


class _Repeated(SettingsModel):
    min_chars: int = Field(8, ge=1)


class _Byline(SettingsModel):
    pattern: str
    max_words: int = Field(12, ge=1)
    name_separators: str = r"\s*/\s*"


class _PhotoCredit(SettingsModel):
    pattern: str
    line_must_contain: list[str] = []


class _Boilerplate(SettingsModel):
    min_pages: int = Field(3, ge=1)
    min_fraction: float = Field(0.3, ge=0.0, le=1.0)
    max_words: int = Field(12, ge=1)
    sketch_lg_size: int = Field(DEFAULT_SKETCH_LG_SIZE, ge=3, le=26)


class _Classifier(SettingsModel):
    enabled: bool = True
    min_content_probability: float | None = Field(None, ge=0.0, le=1.0)
    strong_content_probability: float = Field(0.5, ge=0.0, le=1.0)


def _glue_model() -> type[SettingsModel]:
    """The glue section's model, made from `GlueConfig`'s fields (one place defines them)."""
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(GlueConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        annotation: Any = {int: int, float: float, str: str, bool: bool}.get(
            type(default), list[str]
        )
        if isinstance(default, float):
            annotation = float
        fields[f.name] = (annotation, list(default) if isinstance(default, tuple) else default)
    return create_model("_Glue", __base__=SettingsModel, **fields)


_Glue = _glue_model()


class CleanSettings(SettingsModel):
    """configs/clean.yaml: every section and key, typed; unknown keys are errors."""

    version: int = 1
    head: _Head = _Head()
    paragraph: _Paragraph = _Paragraph()
    dates: _Dates = _Dates()
    chrome: _Chrome = _Chrome()
    blocks: _Blocks = _Blocks()
    slug: _Slug = _Slug()
    doubled_headline: _Doubled = _Doubled()
    repeated_line: _Repeated = _Repeated()
    byline: _Byline
    photo_credit: _PhotoCredit
    boilerplate: _Boilerplate = _Boilerplate()
    classifier: _Classifier = _Classifier()
    glue: _Glue = _Glue()  # type: ignore[valid-type]


def _compile(pattern: str, where: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(
            f"{where}: invalid regular expression {pattern!r} ({exc}); fix it"
        ) from exc


def load_clean_config(path: str | Path | None = None) -> CleanConfig:
    """Read the cleaning rules (default: configs/clean.yaml, or the packaged copy)."""
    path = Path(path) if path is not None else default_config_path("clean.yaml")
    s = load_settings(
        path, CleanSettings, what="cleaning config (sections head, chrome, blocks, ...)"
    )
    glue = s.glue.model_dump()  # type: ignore[attr-defined]
    return CleanConfig(
        head_max_lines=s.head.max_lines,
        title_max_words=s.head.title_max_words,
        title_window_lines=s.head.title_window_lines,
        paragraph_min_words=s.paragraph.min_words,
        day_first=s.dates.day_first,
        menu_words=frozenset(w.casefold() for w in s.chrome.menu_words),
        menu_min_words=s.chrome.menu_min_words,
        menu_separators=tuple(s.chrome.menu_separators),
        menu_item_max_words=s.chrome.menu_item_max_words,
        chrome_max_words=s.chrome.max_words,
        chrome_patterns=tuple(
            _compile(p, f"{path}: chrome.line_patterns") for p in s.chrome.line_patterns
        ),
        block_headers=tuple(
            _compile(p, f"{path}: blocks.header_patterns") for p in s.blocks.header_patterns
        ),
        link_max_words=s.blocks.link_max_words,
        tail_min_fraction=s.blocks.tail_min_fraction,
        slug_min_words=s.slug.min_words,
        slug_min_similarity=s.slug.min_similarity,
        doubled_min_words=s.doubled_headline.min_words,
        repeated_min_chars=s.repeated_line.min_chars,
        byline_pattern=_compile(s.byline.pattern, f"{path}: byline.pattern", 0),
        byline_max_words=s.byline.max_words,
        byline_separators=_compile(s.byline.name_separators, f"{path}: byline.name_separators", 0),
        photo_credit_pattern=_compile(s.photo_credit.pattern, f"{path}: photo_credit.pattern"),
        photo_credit_words=tuple(s.photo_credit.line_must_contain),
        boilerplate_min_pages=s.boilerplate.min_pages,
        boilerplate_min_fraction=s.boilerplate.min_fraction,
        boilerplate_max_words=s.boilerplate.max_words,
        boilerplate_sketch_lg_size=s.boilerplate.sketch_lg_size,
        glue=GlueConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in glue.items()}),
        classifier_enabled=s.classifier.enabled,
        min_content_probability=s.classifier.min_content_probability,
        strong_content_probability=s.classifier.strong_content_probability,
    )
