"""A Document survives the trip through the Parquet corpus table unchanged."""

from corpus.curate import write_corpus
from corpus.offsets import Edit, apply_edits
from corpus.records import CORPUS_COLUMNS, Document, read_corpus, stable_id


def test_records_round_trip_through_parquet_keeps_missing_values_as_none(tmp_path):
    raw = "Menu\nBody text here.\n"
    edits = (Edit(0, 5, "", "site_chrome"),)
    clean, omap = apply_edits(raw, edits)
    with_meta = Document(
        id=stable_id("a.txt", raw),
        source="a.txt",
        raw_text=raw,
        title="T",
        published="2019-05-24",
        authors=("Thai Binh",),
        clean_text=clean,
        edits=edits,
        offset_map=omap,
        similarity=0.93,
        duplicate_of="x",
        cluster_id="c-x",
        metadata={"k": 1},
    )
    bare = Document(
        id="b", source="b.txt", raw_text="x", clean_text="x", offset_map=apply_edits("x", [])[1]
    )
    path = tmp_path / "corpus.parquet"
    write_corpus([with_meta, bare], path)
    back = {d.id: d for d in read_corpus(str(path))}
    assert back[with_meta.id] == with_meta
    assert back["b"].title is None and back["b"].published is None and back["b"].url is None
    assert back["b"].similarity is None and back["b"].authors == () and back["b"].edits == ()


def test_records_row_has_exactly_the_documented_columns():
    doc = Document(id="b", source="b.txt", raw_text="x")
    assert list(doc.to_row()) == list(CORPUS_COLUMNS)


def test_records_cleaned_seed_page_survives_pickling_as_between_worker_processes():
    import pickle
    from pathlib import Path

    from corpus.clean import clean_page, load_clean_config

    seed = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))[0]
    raw = seed.read_text("utf-8")
    doc = clean_page(
        Document(id=stable_id(str(seed), raw), source=str(seed), raw_text=raw),
        config=load_clean_config(),
    )
    back = pickle.loads(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == doc
    assert back.edits == doc.edits and all(isinstance(e, Edit) for e in back.edits)
    assert back.offset_map.segments == doc.offset_map.segments
    span = (len(back.clean_text) // 3, len(back.clean_text) // 2)
    assert back.offset_map.to_raw(*span) == doc.offset_map.to_raw(*span)
