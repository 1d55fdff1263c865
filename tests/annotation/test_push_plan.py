"""Push planning per document (stable ids, edited and re-chunked pages), duplicate keys, locks."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from annotation.labelstudio import ExistingTask
from annotation.labelstudio.duplicates import find_duplicate_keys
from annotation.labelstudio.push import diff_summary, plan_push
from annotation.locks import LockBusyError, writer_lock
from annotation.schema import load_schema
from annotation.tasks import documents_to_tasks
from corpus.records import Document, content_hash

SCHEMA = load_schema()
PARAGRAPHS = [f"Paragraph {n}: customs seized {n} kg of heroin at the border." for n in range(6)]


def doc(text: str, doc_id: str = "d1") -> Document:
    return Document(id=doc_id, source=f"{doc_id}.txt", raw_text=text, clean_text=text)


def tasks_of(*docs: Document, max_chars: int = 10_000):
    return documents_to_tasks(list(docs), schema=SCHEMA, max_chars=max_chars)


def on_server(tasks, *, annotated: set[str] = frozenset(), first_id: int = 1):
    return {
        t.key: ExistingTask(first_id + i, t.key, t.content_hash, int(t.key in annotated))
        for i, t in enumerate(tasks)
    }


def test_plan_updates_an_edited_unannotated_page_and_reports_an_annotated_one():
    before = tasks_of(doc("Customs seized 5 kg.", "a"), doc("Police seized 9 kg.", "b"))
    existing = on_server(before, annotated={"b:0"})
    after = tasks_of(doc("Customs seized 6 kg.", "a"), doc("Police seized 10 kg.", "b"))
    plan = plan_push(after, existing)
    assert not plan.new
    assert [(t.key, old.id) for t, old in plan.update] == [("a:0", 1)]
    assert [(t.key, old.id) for t, old in plan.conflicts] == [("b:0", 2)]
    message = plan.conflict_messages({2: diff_summary(before[1].text, after[1].text)})[0]
    assert message.startswith("Task 2 (document b, key b:0)") and "'9' -> '10'" in message


def test_plan_of_a_rechunked_unannotated_document_updates_imports_and_deletes_in_order():
    text = "\n\n".join(PARAGRAPHS)
    before = tasks_of(doc(text), max_chars=130)
    existing = on_server(before)
    shorter = "\n\n".join(["A new first paragraph about cocaine.", *PARAGRAPHS[3:]])
    after = tasks_of(doc(shorter), max_chars=130)
    assert len(after) < len(before)
    plan = plan_push(after, existing)
    assert not plan.new and not plan.conflicts
    assert [old.id for _, old in plan.update] == [e.id for e in existing.values()][: len(after)]
    assert [old.key for old in plan.delete] == [t.key for t in before[len(after) :]]
    longer = tasks_of(doc(text + "\n\n" + "\n\n".join(PARAGRAPHS)), max_chars=130)
    grown = plan_push(longer, existing)
    assert len(grown.new) == len(longer) - len(before) and not grown.delete


def test_plan_of_a_rechunked_document_with_an_annotated_chunk_imports_nothing_for_it():
    text = "\n\n".join(PARAGRAPHS)
    before = tasks_of(doc(text), max_chars=130)
    existing = on_server(before, annotated={before[1].key})
    after = tasks_of(doc("Opening line.\n\n" + text), max_chars=130)
    plan = plan_push(after, existing)
    assert not plan.new and not plan.update and not plan.delete
    assert [old.key for _, old in plan.conflicts] == [before[1].key]


def test_plan_of_a_chunked_document_never_mixes_old_and_new_chunks():
    text = "\n\n".join(PARAGRAPHS)
    before = tasks_of(doc(text), max_chars=130)
    edited = tasks_of(
        doc(text.replace("Paragraph 0", "Paragraph O").replace("5 kg", "6 kg")), max_chars=130
    )
    assert [t.key for t in edited] == [t.key for t in before]  # same layout
    plan = plan_push(edited, on_server(before, annotated={before[0].key}))
    assert [o.key for _, o in plan.conflicts] == [before[0].key] and not plan.update
    assert [o.key for o in plan.held] == [before[-1].key]
    missing = on_server(before)
    del missing[before[2].key]  # deleted by hand: imported again, the rest untouched
    again = plan_push(before, missing)
    assert [t.key for t in again.new] == [before[2].key]
    assert len(again.unchanged) == len(before) - 1


def test_plan_keeps_a_task_pushed_under_an_older_id_scheme_instead_of_importing_it_again():
    legacy = ExistingTask(7, "0123456789abcdef:0", content_hash("Customs seized 5 kg."), 1)
    plan = plan_push(tasks_of(doc("Customs seized 5 kg.", "stable")), {legacy.key: legacy})
    assert (len(plan.new), len(plan.unchanged), plan.adopted) == (0, 1, 1)


def test_duplicate_keys_keep_the_annotated_task_and_never_remove_annotated_ones():
    tasks = [
        ExistingTask(1, "a:0", "h", 0),
        ExistingTask(2, "b:0", "h", 0),
        ExistingTask(3, "a:0", "h", 2),
        ExistingTask(4, "a:0", "h", 0),
        ExistingTask(5, "#5", None, 0),
        ExistingTask(6, "#5", None, 0),
    ]
    (dup,) = find_duplicate_keys(tasks)
    assert dup.key == "a:0" and [t.id for t in dup.removable] == [1, 4]
    assert "ids 1, 3, 4; annotated: 3" in dup.message()
    both = find_duplicate_keys([ExistingTask(1, "k:0", "h", 1), ExistingTask(2, "k:0", "h", 1)])
    assert both[0].removable == () and "merged by hand" in both[0].message()


def test_diff_summary_names_the_changed_stretch():
    assert diff_summary("same", "same") == "same text"
    summary = diff_summary("Police seized 9 kg of heroin.", "Police seized 19 kg of heroin.")
    assert summary.startswith("characters 14-14 of 29 changed (0 -> 1 characters)")


def _hold(path: str, seconds: float, started) -> None:
    with writer_lock(Path(path), what="test"):
        started.set()
        time.sleep(seconds)


def test_writer_lock_makes_a_second_writer_wait_and_names_the_holder(tmp_path):
    path = tmp_path / "p.lock"
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(path), 2.0, started))
    holder.start()
    try:
        assert started.wait(30)
        with pytest.raises(LockBusyError, match=rf"pid {holder.pid} on"):
            with writer_lock(path, what="push of project 'x'", wait=0):
                pass
        said: list[str] = []
        t0 = time.monotonic()
        with writer_lock(path, what="push of project 'x'", wait=30, on_wait=said.append):
            waited = time.monotonic() - t0
        assert waited > 0.5 and said and "another push of project 'x' is running" in said[0]
    finally:
        holder.join(30)


def test_writer_lock_is_free_again_after_its_holder_is_killed(tmp_path):
    path = tmp_path / "p.lock"
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(str(path), 60.0, started))
    holder.start()
    assert started.wait(30)
    holder.kill()
    holder.join(30)
    with writer_lock(path, what="test", wait=5):
        pass


def test_a_release_refuses_two_versions_of_one_page_naming_their_tasks():
    from annotation.records import AnnotatedTask
    from annotation.release import same_source_problems

    def task(doc_id: str, task_id: int, url: str) -> AnnotatedTask:
        text = f"Customs seized {task_id} kg."
        return AnnotatedTask(doc_id, task_id, text, 0, len(text), meta={"url": url})

    by_doc = {
        "old": [task("old", 3, "https://www.news.example/a?utm_source=x")],
        "new": [task("new", 9, "http://news.example/a/")],
        "other": [task("other", 5, "https://news.example/b")],
    }
    (problem,) = same_source_problems(by_doc)
    assert "2 versions of the page news.example/a" in problem
    assert "document new (task 9); document old (task 3)" in problem
