"""Fault injection (issue 14): concurrency, kill -9 at seeded points, edits, crashes, bad input.

Every test asserts what a user would check afterwards: exactly one task per task key (no
duplicate), every annotation still there (no loss), no partial release or raw export left,
every bad input rejected with a reason naming its file (and line). Run alone with
`pytest -m faults`; the tests that need Label Studio also carry the `labelstudio` marker.
Kill points come from `random.Random(SEED)`, so a failure can be replayed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from annotation.labelstudio import LabelStudio
from annotation.labelstudio.exports import export_raw
from annotation.labelstudio.processes import list_server_processes
from annotation.labelstudio.server import Connection, start_server, stop_server
from annotation.labelstudio.task_scan import get_task, list_tasks
from annotation.records import Annotation, Span
from annotation.schema import PROJECT_ROOT, load_schema
from annotation.secrets import read_env_file
from corpus.curate import curate
from corpus.records import STATUS_KEPT, STATUS_REJECTED

pytestmark = pytest.mark.faults

SEED = 14
CONTRABAND = Path(sys.executable).parent / "contraband"
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CONTRABAND_EXPORT_WORKERS": "1"}
WORDS = (
    "customs police seized kilograms cocaine heroin ketamine pangolin scales ivory port border "
    "container vessel truck airport officers arrested suspects smuggling network operation "
    "joint investigation agency province district harbour warehouse shipment cargo declared "
    "timber rosewood rhino horn tusks tablets methamphetamine cannabis resin packages hidden "
    "compartment inspection scanner dogs tip intelligence court charged prosecutors sentenced "
    "tonnes worth estimated market value street traffickers routes region authorities said"
).split()
PAGES = 16


# -- helpers ---------------------------------------------------------------------------
def write_pages(directory: Path, *, pages: int = PAGES, seed: int = SEED) -> Path:
    """Synthetic news pages of 3 paragraphs each (distinct word sequences: no duplicates)."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for n in range(pages):
        paragraphs = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(45, 70))).capitalize() + "."
            for _ in range(3)
        ]
        (directory / f"page-{n:03d}.txt").write_text(
            f"Seizure report number {n}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
        )
    return directory


def curate_pages(pages: Path, out: Path) -> Path:
    curate([pages], out_dir=out, progress=False, workers=1)
    return out


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CONTRABAND), *args], env=ENV, capture_output=True, text=True, timeout=timeout
    )


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(CONTRABAND), *args],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_after(process: subprocess.Popen, delay: float) -> bool:
    """kill -9 the process after `delay` s; True when it was still running (a real kill)."""
    try:
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        return True


def push_args(corpus: Path, workdir: Path, title: str, *extra: str) -> list[str]:
    return [
        "push",
        str(corpus),
        "--workdir",
        str(workdir),
        "--project",
        title,
        "--no-predictions",
        "--no-progress",
        "--max-chars",
        "500",
        "--batch-size",
        "3",
        *extra,
    ]


def task_keys(client: LabelStudio, project_id: int) -> Counter[str]:
    return Counter(t.key for t in list_tasks(client, project_id))


def expected_keys(corpus: Path) -> set[str]:
    from annotation.tasks import documents_to_tasks
    from corpus.records import read_corpus

    docs = read_corpus(str(corpus))
    return {t.key for t in documents_to_tasks(docs, schema=load_schema(), max_chars=500)}


def annotate(client: LabelStudio, task_id: int, text: str) -> int:
    word = text.split()[1]
    start = text.index(word)
    span = Span("a1", start, start + len(word), "AGENCY", word)
    return client.add_annotation(
        task_id, Annotation("annotator", (span,)), chunk_start=0, user_id=None
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults-corpus")
    return curate_pages(write_pages(root / "pages"), root / "corpus")


@pytest.fixture()
def project_title(label_studio) -> Iterator[str]:
    title = f"faults-{uuid.uuid4().hex[:10]}"
    yield title
    project_id = label_studio.client.find_project(title)
    if project_id is not None:
        label_studio.client.delete_project(project_id)


# -- concurrency -------------------------------------------------------------------------
@pytest.mark.labelstudio
def test_concurrent_pushes_end_with_exactly_one_task_per_document(label_studio, corpus):
    wanted = expected_keys(corpus)
    waited = 0
    for trial in range(3):
        title = f"faults-concurrent-{trial}-{uuid.uuid4().hex[:8]}"
        try:
            runs = [start_cli(*push_args(corpus, label_studio.workdir, title)) for _ in range(2)]
            outputs = [run.communicate(timeout=300) for run in runs]
            assert [run.returncode for run in runs] == [0, 0], outputs
            project_id = label_studio.client.find_project(title)
            keys = task_keys(label_studio.client, project_id)
            assert set(keys) == wanted and max(keys.values()) == 1, f"trial {trial}: {keys}"
            stderr = "".join(err for _, err in outputs)
            waited += "waiting for it to finish" in stderr
        finally:
            project_id = label_studio.client.find_project(title)
            if project_id is not None:
                label_studio.client.delete_project(project_id)
    print(f"concurrent pushes: in {waited} of 3 trials one push waited for the other's lock")


# -- kill -9 of the client at seeded points ------------------------------------------------
@pytest.mark.labelstudio
def test_push_killed_at_seeded_points_then_rerun_loses_and_duplicates_nothing(
    label_studio, corpus, tmp_path
):
    rng = random.Random(SEED)
    client = label_studio.client
    wanted = expected_keys(corpus)
    half = tmp_path / "half"  # the first half of the corpus, pushed before the killed push
    half.mkdir()
    rows = pd.read_parquet(corpus / "corpus.parquet")
    rows.iloc[: len(rows) // 2].to_parquet(half / "corpus.parquet")
    killed = 0
    for trial in range(5):
        title = f"faults-kill-push-{trial}-{uuid.uuid4().hex[:8]}"
        try:
            first = run_cli(*push_args(half, label_studio.workdir, title))
            assert first.returncode == 0, first.stderr
            project_id = client.find_project(title)
            task = list_tasks(client, project_id)[0]
            text = next(t for t in export_raw(client, project_id) if t["id"] == task.id)["data"][
                "text"
            ]
            annotate(client, task.id, text)
            run = start_cli(*push_args(corpus, label_studio.workdir, title))
            killed += kill_after(run, rng.uniform(2.0, 6.0))
            final = run_cli(*push_args(corpus, label_studio.workdir, title))
            assert final.returncode == 0, final.stderr
            keys = task_keys(client, project_id)
            assert set(keys) == wanted and max(keys.values()) == 1, f"trial {trial}: {keys}"
            assert get_task(client, task.id).annotation_count == 1  # not lost
        finally:
            project_id = client.find_project(title)
            if project_id is not None:
                client.delete_project(project_id)
    print(f"push: {killed} of 5 seeded kill points hit a running push")


@pytest.mark.labelstudio
def test_pull_killed_at_seeded_points_leaves_no_partial_export(
    label_studio, corpus, project_title, tmp_path
):
    rng = random.Random(SEED + 1)
    client = label_studio.client
    assert run_cli(*push_args(corpus, label_studio.workdir, project_title)).returncode == 0
    project_id = client.find_project(project_title)
    exported = {t["id"]: t["data"]["text"] for t in export_raw(client, project_id)}
    annotated = sorted(exported)[:5]
    for task_id in annotated:
        annotate(client, task_id, exported[task_id])
    out = tmp_path / "pulled"
    args = ["pull", "--workdir", str(label_studio.workdir), "--project", project_title]
    killed = 0
    for _ in range(5):
        killed += kill_after(start_cli(*args, "--out", str(out)), rng.uniform(1.5, 5.0))
    final = run_cli(*args, "--out", str(out))
    assert final.returncode == 0, final.stderr
    from annotation.labelstudio.pull import read_export

    folders = [p for p in out.glob("export-*") if p.is_dir()]
    assert folders and all(p.with_name(p.name + ".json").exists() for p in folders)
    for manifest in out.glob("export-*.json"):
        read_export(manifest)  # every checksum verifies
    records = [json.loads(line) for line in (out / "annotations.jsonl").open()]
    with_annotations = {r["task_id"] for r in records if r["annotations"]}
    assert set(annotated) <= with_annotations and len(records) == len(exported)
    print(f"pull: {killed} of 5 seeded kill points hit a running pull")


RELEASE_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_release import SCHEMA, make_tasks
from annotation.release import build_release
build_release(make_tasks(), version=sys.argv[1], releases_dir=sys.argv[2], schema=SCHEMA)
"""


def test_release_killed_at_seeded_points_leaves_no_partial_release(tmp_path):
    rng = random.Random(SEED + 2)
    script = tmp_path / "build.py"
    script.write_text(RELEASE_SCRIPT.format(tests=str(PROJECT_ROOT / "tests" / "annotation")))
    releases = tmp_path / "releases"
    killed = 0
    for trial in range(5):
        run = subprocess.Popen(
            [sys.executable, str(script), f"0.{trial + 1}.0", str(releases)],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        killed += kill_after(run, rng.uniform(1.0, 5.0))
    done = subprocess.run(
        [sys.executable, str(script), "1.0.0", str(releases)], env=ENV, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    assert not list(releases.glob(".tmp-v*")), "a killed build's temporary dir was left"
    for release in releases.glob("v*"):
        manifest = json.loads((release / "manifest.json").read_text())
        for name, digest in manifest["files"].items():
            assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest
    print(f"release: {killed} of 5 seeded kill points hit a running build")


# -- edited pages ---------------------------------------------------------------------------
@pytest.mark.labelstudio
def test_an_edited_page_updates_its_unannotated_task_and_is_reported_when_annotated(
    label_studio, project_title, tmp_path
):
    client = label_studio.client
    pages = write_pages(tmp_path / "pages", pages=4)
    first = curate_pages(pages, tmp_path / "corpus-1")
    assert run_cli(*push_args(first, label_studio.workdir, project_title)).returncode == 0
    project_id = client.find_project(project_title)
    before = {t["data"]["task_key"]: t for t in export_raw(client, project_id)}
    doc_ids = sorted({t["data"]["doc_id"] for t in before.values()})
    annotated_doc, edited_doc = doc_ids[0], doc_ids[1]
    annotated_task = before[f"{annotated_doc}:0"]
    annotate(client, annotated_task["id"], annotated_task["data"]["text"])
    for page in sorted(pages.glob("*.txt"))[:4]:  # every page corrected by its site
        page.write_text(
            page.read_text().replace(".\n\n", ". Corrected figures followed.\n\n", 1),
            encoding="utf-8",
        )
    second = curate_pages(pages, tmp_path / "corpus-2")
    pushed = run_cli(*push_args(second, label_studio.workdir, project_title))
    assert pushed.returncode == 0, pushed.stderr
    assert "1 changed but annotated" in pushed.stdout and " 0 updated" not in pushed.stdout
    assert f"Task {annotated_task['id']} (document {annotated_doc}" in pushed.stderr
    after = {t["data"]["task_key"]: t for t in export_raw(client, project_id)}
    assert max(task_keys(client, project_id).values()) == 1
    new_keys = expected_keys(second)
    old_of_annotated = {k for k in before if k.startswith(annotated_doc + ":")}
    # the annotated document as it was; every other one exactly as the edited pages give it
    assert set(after) == old_of_annotated | {
        k for k in new_keys if not k.startswith(annotated_doc + ":")
    }
    assert after[f"{annotated_doc}:0"]["data"]["text"] == annotated_task["data"]["text"]
    assert "Corrected figures" in after[f"{edited_doc}:0"]["data"]["text"]
    assert "Corrected figures" not in after[f"{annotated_doc}:0"]["data"]["text"]
    assert sorted({t["data"]["doc_id"] for t in after.values()}) == doc_ids


# -- server crash -------------------------------------------------------------------------
def _label_studio_processes_in(data_dir: Path) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (
                b"label-studio" in (entry / "cmdline").read_bytes()
                and Path(os.readlink(entry / "cwd")) == data_dir.resolve()
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.labelstudio
def test_server_killed_during_a_push_stop_leaves_nothing_and_restart_keeps_the_port(
    corpus, tmp_path
):
    rng = random.Random(SEED + 3)
    workdir = tmp_path / "own-server"
    workdir.mkdir()
    info = start_server(workdir=workdir, export_workers=1, timeout=300)
    title = "faults-server-crash"
    try:
        assert len(info.export_urls) == 1
        run = start_cli(*push_args(corpus, workdir, title))
        time.sleep(rng.uniform(2.5, 5.0))
        os.kill(info.pid, signal.SIGKILL)  # the main server crashes mid-push
        run.communicate(timeout=300)
        processes = list_server_processes(workdir=workdir)
        assert [p["alive"] for p in processes if p["role"] == "export"] == [True]
        assert stop_server(workdir=workdir)
        assert _label_studio_processes_in(info.data_dir) == []
        again = start_server(workdir=workdir, export_workers=1, timeout=300)
        assert again.port == info.port
        final = run_cli(*push_args(corpus, workdir, title))
        assert final.returncode == 0, final.stderr
        client = LabelStudio(
            Connection(url=again.url, api_key=read_env_file(workdir)["LABEL_STUDIO_API_KEY"])
        )
        keys = task_keys(client, client.find_project(title))
        assert set(keys) == expected_keys(corpus) and max(keys.values()) == 1
    finally:
        stop_server(workdir=workdir)
    assert _label_studio_processes_in(info.data_dir) == []


# -- bad input --------------------------------------------------------------------------------
BAD_INPUTS: dict[str, tuple[bytes, str]] = {
    "empty.txt": (b"", "empty_file"),
    "blank.txt": (b"  \n\t\n", "empty_file"),
    "binary.txt": (b"\x7fELF\x00\x01\x02" * 50, "binary_file"),
    "scripts.html": (
        b"<html><body><script>var story = 'Police seized 500 kg of cocaine at the port';"
        b"document.write(story);</script><noscript>Enable JavaScript to read the full "
        b"story about the seizure.</noscript></body></html>",
        "script_only",
    ),
    "menus.html": (
        b"<html><body><nav><a href='/'>Home</a> | <a>News</a></nav></body></html>",
        "markup_only",
    ),
    "short.txt": (b"Share\n\nPrint\n", "empty_text"),
    "notes.pdf": (b"%PDF-1.4", "unsupported_type"),
}
GOOD_TEXT = (
    "Customs officers at the port seized 120 kg of heroin hidden in a container \u2013 the "
    "largest haul this year, the agency said on Monday after a joint operation with police."
)


def write_zoo(directory: Path) -> dict[str, str]:
    """The bad-input zoo, plus the awkward-but-good pages; name -> what must come out."""
    directory.mkdir()
    for name, (data, _) in BAD_INPUTS.items():
        (directory / name).write_bytes(data)
    utf8 = GOOD_TEXT.encode("utf-8")
    (directory / "one-bad-byte.txt").write_bytes(utf8[:40] + b"\xff" + utf8[40:])
    (directory / "utf16.txt").write_bytes(GOOD_TEXT.encode("utf-16"))  # with its BOM
    (directory / "utf32.txt").write_bytes(GOOD_TEXT.encode("utf-32"))
    (directory / "utf8-bom.txt").write_bytes(b"\xef\xbb\xbf" + utf8)
    (directory / "latin1.txt").write_bytes(
        GOOD_TEXT.replace("\u2013", "-").replace("agency", "ag\u00e9ncy").encode("cp1252")
    )
    (directory / "mojibake.txt").write_bytes(
        GOOD_TEXT.replace("\u2013", "\u00e2\u20ac\u201c").encode("utf-8")
    )
    lines = [
        json.dumps({"url": "https://news.example/a?utm_source=x", "text": GOOD_TEXT}),
        json.dumps({"url": "https://www.news.example/a", "text": GOOD_TEXT + " Updated."}),
        json.dumps({"url": "https://news.example/b", "text": ""}),
        "{broken",
    ]
    (directory / "dump.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {name: reason for name, (_, reason) in BAD_INPUTS.items()}


def test_every_bad_input_is_read_correctly_or_rejected_naming_file_and_line(tmp_path):
    expected = write_zoo(tmp_path / "zoo")
    zoo = tmp_path / "zoo"
    curate([zoo, zoo / "notes.pdf"], out_dir=tmp_path / "out", progress=False, workers=1)
    rows = pd.read_parquet(tmp_path / "out" / "corpus.parquet").set_index("source")
    by_name = {Path(source).name: row for source, row in rows.iterrows()}
    for name, reason in expected.items():
        row = by_name[name]
        assert (row.status, row.reject_reason) == (STATUS_REJECTED, reason), name
        assert name in json.loads(row.metadata)["error"]
    kept = rows[rows.status == STATUS_KEPT]
    assert (kept.clean_text.str.strip().str.len() > 0).all()
    for name in ("utf16.txt", "utf32.txt", "utf8-bom.txt"):
        # read as text (the same article as the others: kept once, the rest duplicates)
        assert by_name[name].status != STATUS_REJECTED and "\u2013" in by_name[name].raw_text
    bad_byte = by_name["one-bad-byte.txt"]
    assert "\u2013" in bad_byte.raw_text and "\u00e2\u20ac" not in bad_byte.raw_text
    assert json.loads(bad_byte.metadata)["decoding"]["replaced_bytes"] == 1
    assert "ag\u00e9ncy" in by_name["latin1.txt"].raw_text
    assert json.loads(by_name["mojibake.txt"].metadata)["decoding"]["mojibake"] is True
    dump = {int(s.rsplit(":", 1)[1]): r for s, r in rows.iterrows() if ".jsonl:" in s}
    assert dump[1].status != STATUS_REJECTED
    # a second scrape of the same URL: its own id and the first named (a release refuses
    # two surviving versions of one URL: test_push_plan)
    assert json.loads(dump[2].metadata)["same_url_as"].endswith("dump.jsonl:1")
    assert dump[2].status != STATUS_REJECTED and dump[2].id != dump[1].id
    assert dump[3].reject_reason == "missing_text" and dump[4].reject_reason == "malformed_json"
    assert all(f".jsonl:{n}" in json.loads(dump[n].metadata)["error"] for n in (3, 4))


# -- markup in user strings ---------------------------------------------------------------------
def test_markup_in_schema_names_is_refused_and_escaped_everywhere_else(tmp_path):
    import yaml
    from lxml import html as lxml_html

    from annotation.schema import schema_from_dict
    from corpus.errors import SchemaError

    raw = yaml.safe_load((PROJECT_ROOT / "configs" / "schema.yaml").read_text())
    hostile = json.loads(json.dumps(raw))
    hostile["guidelines"] = "# Injected heading\n\n<img src=x onerror=alert(1)>"
    for entity in hostile["entities"]:
        entity["description"] = "<script>alert('label')</script> [x](javascript:alert(1))"
        entity["examples"] = ["<b>bold</b>"]
    for relation in hostile["relations"]:
        relation["description"] = "</td><script>alert(2)</script>"
    schema = schema_from_dict(hostile)
    page = lxml_html.fromstring(schema.to_instructions_html())
    assert page.xpath("//script") == [] and page.xpath("//img") == []
    assert "<script>alert('label')</script>" in page.text_content()  # shown as text
    for value in ("DRUG<script>", 'AGENCY" onclick="x'):
        bad = json.loads(json.dumps(raw))
        bad["entities"][0]["name"] = value
        with pytest.raises(SchemaError, match="no spaces or markup"):
            schema_from_dict(bad)
    bad = json.loads(json.dumps(raw))
    bad["name"] = "<script>alert(1)</script>"
    with pytest.raises(SchemaError, match="no spaces or markup"):
        schema_from_dict(bad)
    bad = json.loads(json.dumps(raw))
    bad["entities"][0]["colour"] = "red;background:url(javascript:x)"
    with pytest.raises(SchemaError, match="colour"):
        schema_from_dict(bad)
    bad = json.loads(json.dumps(raw))
    bad["relations"].append(dict(bad["relations"][0]))
    with pytest.raises(SchemaError, match="defined twice"):
        schema_from_dict(bad)


@pytest.mark.labelstudio
def test_a_push_refused_for_its_schema_or_predictions_creates_no_project(
    label_studio, corpus, project_title, tmp_path, monkeypatch
):
    import yaml

    from annotation import pipeline
    from annotation.records import Relation
    from corpus.errors import SchemaError

    raw = yaml.safe_load((PROJECT_ROOT / "configs" / "schema.yaml").read_text())
    raw["relations"][0]["name"] = "SEIZED<b>BY</b>"
    bad_schema = tmp_path / "schema.yaml"
    bad_schema.write_text(yaml.safe_dump(raw))
    refused = run_cli(
        *push_args(corpus, label_studio.workdir, project_title), "--schema", str(bad_schema)
    )
    assert refused.returncode == 1 and "no spaces or markup" in refused.stderr
    assert label_studio.client.find_project(project_title) is None

    def unknown_relation(tasks, **_):
        out = {}
        for task in tasks:
            word = task.text.split()[0]
            spans = (Span("s1", task.chunk_start, task.chunk_start + len(word), "AGENCY", word),)
            out[task.key] = Annotation("rules", spans, (Relation("s1", "s1", "NOT_A_RELATION"),))
        return out

    monkeypatch.setattr(
        pipeline._LazyPreannotator, "predict", lambda self, tasks: unknown_relation(tasks)
    )
    with pytest.raises(SchemaError, match="NOT_A_RELATION"):
        pipeline.push_corpus(
            corpus, workdir=label_studio.workdir, project_title=project_title, progress=False
        )
    assert label_studio.client.find_project(project_title) is None


# -- duplicates left by older versions --------------------------------------------------------
@pytest.mark.labelstudio
def test_push_reports_duplicate_keys_and_doctor_repair_keeps_the_annotated_copy(
    label_studio, corpus, project_title
):
    from annotation.labelstudio.push import push_tasks
    from annotation.tasks import documents_to_tasks
    from corpus.records import read_corpus

    client = label_studio.client
    project_id = client.ensure_project(project_title, schema=load_schema()).id
    tasks = documents_to_tasks(read_corpus(str(corpus)), schema=load_schema(), max_chars=500)[:6]
    first = client.import_tasks(project_id, tasks, {})
    second = client.import_tasks(project_id, tasks, {})  # what two unlocked pushes did
    annotate(client, second[0], tasks[0].text)
    summary = push_tasks(tasks, client=client, project_id=project_id, progress=False)
    assert summary.imported == 0 and len(summary.duplicates) == 6
    expected = f"ids {first[0]}, {second[0]}; annotated: {second[0]})"
    assert any(expected in message for message in summary.duplicates)
    checked = run_cli("doctor", "--workdir", str(label_studio.workdir), "--project", project_title)
    assert checked.returncode == 0 and "6 task key(s) on several tasks" in checked.stdout
    assert len(list_tasks(client, project_id)) == 12  # without --repair nothing is deleted
    repaired = run_cli(
        "doctor", "--workdir", str(label_studio.workdir), "--project", project_title, "--repair"
    )
    assert repaired.returncode == 0 and "deleted 6 unannotated" in repaired.stdout
    left = {t.id: t for t in list_tasks(client, project_id)}
    assert sorted(left) == sorted([second[0], *first[1:]])
    assert left[second[0]].annotation_count == 1
    again = run_cli("doctor", "--workdir", str(label_studio.workdir), "--project", project_title)
    assert "no duplicate task key" in again.stdout
