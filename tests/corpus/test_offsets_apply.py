"""apply_edits and OffsetMap on small inline pages (the seed property test is in test_offsets.py)."""

import pytest

from corpus.offsets import Edit, OffsetMap, OverlappingEditsError, apply_edits

RAW = "MENU\nThecooperation  grew.\nRelated News\n"
#      0123 4 567890123456789012345 6789...


def _edits():
    return [
        Edit(0, 5, "", "site_chrome"),  # "MENU\n"
        Edit(8, 8, " ", "glued_word"),  # The|cooperation
        Edit(19, 21, " ", "whitespace"),  # two spaces -> one
        Edit(27, 40, "", "related_block"),  # "Related News\n"
    ]


def test_apply_edits_produces_clean_text():
    clean, _ = apply_edits(RAW, _edits())
    assert clean == "The cooperation grew.\n"


def test_offset_map_copy_spans_map_to_identical_raw_text():
    clean, omap = apply_edits(RAW, _edits())
    start = clean.index("cooperation")
    rs, re_ = omap.to_raw(start, start + len("cooperation"))
    assert RAW[rs:re_] == "cooperation"


def test_offset_map_span_over_an_insertion_covers_both_raw_words():
    clean, omap = apply_edits(RAW, _edits())
    rs, re_ = omap.to_raw(0, len("The cooperation"))
    assert RAW[rs:re_] == "Thecooperation"


def test_offset_map_span_ending_inside_an_edit_widens_to_the_whole_edit():
    clean, omap = apply_edits(RAW, _edits())
    end = clean.index("grew")
    rs, re_ = omap.to_raw(4, end)  # "cooperation " ends on the collapsed whitespace
    assert RAW[rs:re_] == "cooperation  "


def test_offset_map_to_clean_inverts_to_raw_on_copied_text():
    clean, omap = apply_edits(RAW, _edits())
    rs = RAW.index("grew")
    assert omap.to_clean(rs, rs + 4) == (clean.index("grew"), clean.index("grew") + 4)


def test_offset_map_round_trips_through_columns():
    _, omap = apply_edits(RAW, _edits())
    assert OffsetMap.from_columns(omap.to_columns()) == omap


def test_apply_edits_refuses_overlapping_edits_naming_them():
    with pytest.raises(OverlappingEditsError, match="related_block"):
        apply_edits(RAW, [Edit(0, 10, "", "site_chrome"), Edit(5, 12, "", "related_block")])
