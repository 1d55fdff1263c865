"""Benchmark push and pull against an embedded Label Studio server (not a test).

    .venv/bin/python scripts/bench_labelstudio.py [--tasks 10000]
        [--database postgresql://USER:PW@127.0.0.1:PORT/postgres]

Every step runs on SQLite (the default embedded server) and, with --database, again on
PostgreSQL in the same run (a throwaway database created on that server and dropped after),
so each PostgreSQL figure has its SQLite baseline beside it.

(a) one raw bulk import request of N tasks with predictions (baseline, project A);
(b) push_tasks of the same tasks (project B) keeping a push ledger, as the CLI does,
    target >= 0.8 x the baseline throughput;
(c) re-push of all N already-present tasks without a ledger (full key scan), and
(c2) with the current ledger, target < 30 s at 50,000;
(d) pull of N tasks, each with one annotation and one prediction, into validated records,
    target < 2 min at 50,000: the predictions list plus one export snapshot per task id range,
    through the main server and its export workers at once, converted while exported;
(d0) baseline in the same run: the previous pull (one snapshot of the whole project with full
    predictions, then convert and validate);
(e) the same tasks through the paged tasks list API (download + convert only); (d0) and (e)
    also check that they give the same records as (d).
(f) annotators saving while a pull runs: --annotators threads POST one annotation after
    another to the pulled project during a second pull; failed saves and saves slower than
    1 s are counted (target: none), with the same threads' latencies on an idle server beside;
(g) --storage-tasks of the tasks with predictions imported from Label Studio local-files
    import storage (JSON files of --batch-size tasks, one storage sync), tasks/s against (a).
Server and client CPU seconds are measured from /proc for (d) and (d0).
Prints a Markdown table per database and a side-by-side table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.labelstudio import (  # noqa: E402
    LabelStudio,
    annotation_to_results,
    pages_to_tasks,
    prediction_to_payload,
)
from annotation.labelstudio.database import Database, parse_database_url  # noqa: E402
from annotation.labelstudio.export_records import export_to_tasks  # noqa: E402
from annotation.labelstudio.exports import export_raw_bytes, list_tasks_raw_pages  # noqa: E402
from annotation.labelstudio.pull import pull, read_export  # noqa: E402
from annotation.labelstudio.push import push_tasks  # noqa: E402
from annotation.labelstudio.server import Connection, start_server, stop_server  # noqa: E402
from annotation.labelstudio.task_scan import list_task_keys, read_task_list_head  # noqa: E402
from annotation.records import SOURCE_PREDICTION, Annotation, Relation, Span  # noqa: E402
from annotation.schema import load_schema  # noqa: E402
from annotation.secrets import read_env_file  # noqa: E402
from annotation.tasks import TaskPayload, documents_to_tasks  # noqa: E402
from annotation.validate import validate_tasks  # noqa: E402
from corpus.records import Document  # noqa: E402

SENTENCE = "Vietnam Customs seized {n} kg of ketamine in Hai Phong on May 11, 2019. "


def make_tasks(n: int) -> tuple[list[TaskPayload], dict[str, Annotation]]:
    """N one-document tasks, each with a prediction of 3 spans and 2 relations."""
    schema = load_schema()
    docs = [
        Document(
            id=f"bench{i:06d}", source="bench", raw_text="", clean_text=SENTENCE.format(n=i) * 3
        )
        for i in range(n)
    ]
    tasks = documents_to_tasks(docs, schema=schema)
    predictions = {}
    for task in tasks:
        text = task.text

        def span(span_id: str, phrase: str, label: str, text: str = text) -> Span:
            start = text.index(phrase)
            return Span(span_id, start, start + len(phrase), label, phrase)

        seizure_phrase = text[text.index("seized ") + 7 : text.index(" in Hai")]
        predictions[task.key] = Annotation(
            "bench-rules",
            (
                span("a", "Vietnam Customs", "AGENCY"),
                span("s", seizure_phrase, "SEIZURE"),
                span("d", "ketamine", "DRUG"),
            ),
            (Relation("s", "a", "SEIZED_BY"), Relation("s", "d", "SEIZED_ITEM")),
            source=SOURCE_PREDICTION,
            score=0.9,
        )
    return tasks, predictions


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc)."""
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _tasks_api_row(
    client: LabelStudio, project_id: int, n_tasks: int, reference: list[str]
) -> tuple[str, float, float, str]:
    """(e): the same tasks through the paged tasks list API (download + convert only)."""
    started = time.perf_counter()
    raw_pages = list_tasks_raw_pages(client, project_id)
    pages_s = time.perf_counter() - started
    from_pages, _ = export_to_tasks(
        pages_to_tasks(json.loads(raw_pages)), secret="bench", user_emails=client.list_user_emails()
    )
    convert_s = time.perf_counter() - pages_s - started
    same = sorted(map(repr, from_pages)) == reference
    return (
        "(e) tasks list API fields=all (download + convert only)",
        pages_s + convert_s,
        n_tasks / (pages_s + convert_s),
        f"download {pages_s:.1f} s; same records as (d): {same}",
    )


Row = tuple[str, float, float, str]


@dataclass
class Saves:
    """Latencies of annotation saves (seconds) and the failures, thread-safe enough for
    list.append."""

    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.seconds:
            return f"no save finished; {len(self.failures)} failed"
        ordered = sorted(self.seconds)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        slow = sum(1 for s in ordered if s > 1.0)
        return (
            f"{len(ordered)} saves, {len(self.failures)} failed, {slow} blocked > 1 s; "
            f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms"
        )


def save_annotations_until(
    stop: threading.Event,
    *,
    url: str,
    api_key: str,
    targets: list[tuple[int, list[dict]]],
    threads: int,
) -> Saves:
    """`threads` annotators POST annotations (one request each, as the editor's Submit does)
    to the `targets` (task id, result) in turn until `stop` is set; their latencies."""
    saves = Saves()

    def annotator(offset: int) -> None:
        index = offset
        while not stop.is_set():
            task_id, result = targets[index % len(targets)]
            index += threads
            body = json.dumps({"result": result, "ground_truth": False}).encode()
            request = urllib.request.Request(
                f"{url}/api/tasks/{task_id}/annotations/",
                data=body,
                headers={"Authorization": f"Token {api_key}", "Content-Type": "application/json"},
                method="POST",
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    ok = response.status == 201
                    status = response.status
            except (urllib.error.URLError, OSError) as exc:
                ok, status = False, exc
            elapsed = time.perf_counter() - started
            saves.seconds.append(elapsed)
            if not ok:
                saves.failures.append(f"task {task_id}: {status}")

    workers = [threading.Thread(target=annotator, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    stop.wait()
    for worker in workers:
        worker.join()
    return saves


def _saving_during_pull_rows(
    client: LabelStudio,
    connection: Connection,
    *,
    project_id: int,
    tasks: list[TaskPayload],
    predictions: dict[str, Annotation],
    out_dir: Path,
    threads: int,
    idle_seconds: float,
) -> list[Row]:
    """(f): annotators saving while a pull runs, and the same annotators on an idle server."""
    schema = load_schema()
    ids = list_task_keys(client, project_id)
    targets = [
        (ids[t.key].id, annotation_to_results(predictions[t.key], chunk_start=t.chunk_start))
        for t in tasks
    ]
    stop = threading.Event()
    timer = threading.Timer(idle_seconds, stop.set)
    timer.start()
    idle = save_annotations_until(
        stop, url=connection.url, api_key=connection.api_key, targets=targets, threads=threads
    )
    stop = threading.Event()
    result: dict[str, Saves] = {}
    saver = threading.Thread(
        target=lambda: result.setdefault(
            "saves",
            save_annotations_until(
                stop,
                url=connection.url,
                api_key=connection.api_key,
                targets=targets[len(targets) // 2 :],
                threads=threads,
            ),
        )
    )
    saver.start()
    started = time.perf_counter()
    try:
        pulled = pull(
            client=client, project_id=project_id, out_dir=out_dir, schema=schema, secret="bench"
        )
    finally:
        stop.set()
        saver.join()
    pull_s = time.perf_counter() - started
    saves = result["saves"]
    return [
        (
            f"(f0) {threads} annotators saving, idle server ({idle_seconds:.0f} s)",
            idle_seconds,
            len(idle.seconds) / idle_seconds,
            idle.describe(),
        ),
        (
            f"(f) pull while {threads} annotators save (tasks/s: pull; note: saves)",
            pull_s,
            len(tasks) / pull_s,
            f"{len(pulled.tasks)} tasks pulled; {saves.describe()} (target: 0 failed, "
            "0 blocked > 1 s)"
            + (f"; first failures: {saves.failures[:3]}" if saves.failures else ""),
        ),
    ]


def _storage_import_row(
    client: LabelStudio,
    connection: Connection,
    *,
    tasks: list[TaskPayload],
    predictions: dict[str, Annotation],
    files_dir: Path,
    batch_size: int,
    raw_rate: float,
) -> Row:
    """(g): the same tasks imported from local-files import storage (one sync)."""
    files_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(tasks), batch_size):
        items = [
            {
                "data": task.data,
                "predictions": [
                    prediction_to_payload(predictions[task.key], chunk_start=task.chunk_start)
                ],
            }
            for task in tasks[start : start + batch_size]
        ]
        (files_dir / f"tasks-{start:07d}.json").write_text(json.dumps(items), encoding="utf-8")
    project = client.ensure_project("bench-g-storage", schema=load_schema())

    def call(method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{connection.url}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Token {connection.api_key}",
                "Content-Type": "application/json",
            },
            method=method,
        )
        with urllib.request.urlopen(request, timeout=7200) as response:
            return json.loads(response.read() or b"{}")

    started = time.perf_counter()
    storage = call(
        "POST",
        "/api/storages/localfiles",
        {
            "project": project.id,
            "path": str(files_dir),
            "use_blob_urls": False,
            "regex_filter": r".*\.json",
            "title": "bench",
        },
    )
    call("POST", f"/api/storages/localfiles/{storage['id']}/sync")
    while True:  # the community edition syncs in the request; poll in case it does not
        status = call("GET", f"/api/storages/localfiles/{storage['id']}")
        if status.get("status") in ("completed", "failed"):
            break
        time.sleep(1)
    storage_s = time.perf_counter() - started
    count = read_task_list_head(client, project.id).count
    return (
        "(g) import from local-files storage (one sync)",
        storage_s,
        len(tasks) / storage_s,
        f"{count} tasks, status {status.get('status')}; "
        f"{len(tasks) / storage_s / raw_rate:.2f} x the tasks/s of (a) one raw bulk import",
    )


def run_benchmark(
    args: argparse.Namespace,
    *,
    database: str,
    tasks: list[TaskPayload],
    predictions: dict[str, Annotation],
) -> list[Row]:
    """Every step on one embedded server running on `database` (sqlite or a URL)."""
    schema = load_schema()
    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        workdir = Path(tmp)
        files_dir = workdir / "storage-files"
        os.environ["LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED"] = "true"
        os.environ["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"] = str(workdir)
        info = start_server(workdir=workdir, timeout=600, database=database)
        try:
            connection = Connection(
                info.url,
                read_env_file(workdir)["LABEL_STUDIO_API_KEY"],
                export_urls=info.export_urls,
            )
            state = json.loads((info.data_dir / "server.json").read_text())
            server_pids = [info.pid] + [int(w["pid"]) for w in state.get("export_workers", [])]
            client = LabelStudio(connection, timeout=1800)
            rows = []
            project_a = client.ensure_project("bench-a-raw", schema=schema)
            started = time.perf_counter()
            client.import_tasks(project_a.id, tasks, predictions)
            raw_s = time.perf_counter() - started
            rows.append(("(a) one raw bulk import request", raw_s, args.tasks / raw_s, ""))

            project_b = client.ensure_project("bench-b-push", schema=schema)
            started = time.perf_counter()
            push_tasks(
                tasks,
                client=client,
                project_id=project_b.id,
                predictions=predictions,
                schema=schema,
                batch_size=args.batch_size,
                progress=False,
                ledger_dir=workdir / "ledgers",
            )
            push_s = time.perf_counter() - started
            ratio = (args.tasks / push_s) / (args.tasks / raw_s)
            rows.append(
                (
                    "(b) push_tasks with predictions, writing the ledger",
                    push_s,
                    args.tasks / push_s,
                    f"{ratio:.2f} x baseline (target >= 0.8)",
                )
            )

            started = time.perf_counter()
            summary = push_tasks(
                tasks,
                client=client,
                project_id=project_b.id,
                predictions=predictions,
                schema=schema,
                batch_size=args.batch_size,
                progress=False,
            )
            repush_s = time.perf_counter() - started
            assert summary.imported == 0, summary.summary_line()
            rows.append(
                (
                    "(c) re-push, all present, no ledger (key scan)",
                    repush_s,
                    args.tasks / repush_s,
                    f"{summary.unchanged} unchanged (target < 30 s at 50k)",
                )
            )
            started = time.perf_counter()
            head = read_task_list_head(client, project_b.id)
            head_s = time.perf_counter() - started
            started = time.perf_counter()
            summary = push_tasks(
                tasks,
                client=client,
                project_id=project_b.id,
                predictions=predictions,
                schema=schema,
                batch_size=args.batch_size,
                progress=False,
                ledger_dir=workdir / "ledgers",
            )
            ledger_s = time.perf_counter() - started
            assert summary.imported == 0 and summary.ledger == "current", summary.summary_line()
            rows.append(
                (
                    "(c2) re-push, all present, current ledger",
                    ledger_s,
                    args.tasks / ledger_s,
                    f"{summary.unchanged} unchanged; count + highest id check "
                    f"{head_s * 1000:.0f} ms for {head.count} tasks (target < 30 s at 50k)",
                )
            )

            project_c = client.ensure_project("bench-c-annotated", schema=schema)
            for start in range(0, len(tasks), 5000):
                client.import_annotated_tasks(
                    project_c.id, tasks[start : start + 5000], predictions, predictions
                )
            server_before, client_before = cpu_seconds(server_pids), time.process_time()
            started = time.perf_counter()
            result = pull(
                client=client,
                project_id=project_c.id,
                out_dir=workdir / "pull",
                schema=schema,
                secret="bench",
            )
            pull_s = time.perf_counter() - started
            server_cpu = cpu_seconds(server_pids) - server_before
            client_cpu = time.process_time() - client_before
            spans = sum(len(a.spans) for t in result.tasks for a in t.annotations)
            preds = sum(len(t.predictions) for t in result.tasks)
            rows.append(
                (
                    "(d) pull annotated tasks -> validated records",
                    pull_s,
                    args.tasks / pull_s,
                    f"{len(result.tasks)} tasks, {spans} spans, {preds} predictions, "
                    f"{len(result.problems)} problems; {1 + len(info.export_urls)} server "
                    f"processes, {len(result.export_parts)} raw parts; CPU s: server "
                    f"{server_cpu:.1f}, client {client_cpu:.1f} (target < 120 s at 50k)",
                )
            )
            from_parts, _ = export_to_tasks(
                read_export(result.export_path),
                secret="bench",
                user_emails=client.list_user_emails(),
            )
            reference = sorted(map(repr, from_parts))
            if not args.no_baseline_pull:
                server_before, client_before = cpu_seconds(server_pids), time.process_time()
                started = time.perf_counter()
                snapshot = json.loads(export_raw_bytes(client, project_c.id))
                export_s = time.perf_counter() - started
                from_snapshot, _ = export_to_tasks(
                    snapshot, secret="bench", user_emails=client.list_user_emails()
                )
                validate_tasks(from_snapshot, schema=schema)
                baseline_s = time.perf_counter() - started
                rows.append(
                    (
                        "(d0) baseline: one snapshot with full predictions + convert",
                        baseline_s,
                        args.tasks / baseline_s,
                        f"snapshot {export_s:.1f} s; CPU s: server "
                        f"{cpu_seconds(server_pids) - server_before:.1f}, client "
                        f"{time.process_time() - client_before:.1f}; same records as (d): "
                        f"{sorted(map(repr, from_snapshot)) == reference}",
                    )
                )
            if not args.no_tasks_api:
                rows.append(_tasks_api_row(client, project_c.id, args.tasks, reference))
            if not args.no_saving:
                rows.extend(
                    _saving_during_pull_rows(
                        client,
                        connection,
                        project_id=project_c.id,
                        tasks=tasks,
                        predictions=predictions,
                        out_dir=workdir / "pull-while-saving",
                        threads=args.annotators,
                        idle_seconds=10.0,
                    )
                )
            if not args.no_storage_import:
                rows.append(
                    _storage_import_row(
                        client,
                        connection,
                        tasks=tasks[: args.storage_tasks],
                        predictions=predictions,
                        files_dir=files_dir,
                        batch_size=args.batch_size,
                        raw_rate=args.tasks / raw_s,
                    )
                )
        finally:
            stop_server(workdir=workdir)
    return rows


def _database_url(server: Database, name: str) -> str:
    from urllib.parse import quote

    return (
        f"postgresql://{quote(server.user, safe='')}:{quote(server.password, safe='')}"
        f"@{server.host}:{server.port}/{name}"
    )


def run_on_postgresql(
    args: argparse.Namespace, *, tasks: list[TaskPayload], predictions: dict[str, Annotation]
) -> list[Row]:
    """Every step on a throwaway database of the --database server, dropped afterwards."""
    server = parse_database_url(args.database)
    name = f"contraband_bench_{uuid.uuid4().hex[:8]}"
    with server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return run_benchmark(
            args, database=_database_url(server, name), tasks=tasks, predictions=predictions
        )
    finally:
        with server.connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}\n")
    print("| step | seconds | tasks/s | note |")
    print("| --- | ---: | ---: | --- |")
    for name, seconds, rate, note in rows:
        print(f"| {name} | {seconds:.1f} | {rate:,.0f} | {note} |")


def print_side_by_side(by_database: dict[str, list[Row]]) -> None:
    names = list(by_database)
    print("\nSame run, side by side (seconds; ratio = PostgreSQL / SQLite)\n")
    print("| step | " + " | ".join(names) + (" | ratio |" if len(names) == 2 else ""))
    print("| --- |" + " ---: |" * (len(names) + (1 if len(names) == 2 else 0)))
    steps = [row[0] for row in next(iter(by_database.values()))]
    for step in steps:
        seconds = [
            next((r[1] for r in rows if r[0] == step), None) for rows in by_database.values()
        ]
        cells = [f"{s:.1f}" if s is not None else "" for s in seconds]
        if len(names) == 2 and all(seconds) and seconds[0]:
            cells.append(f"{seconds[1] / seconds[0]:.2f}")
        print(f"| {step} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks", type=int, default=10_000, help="number of tasks (default 10,000)"
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="push batch size")
    parser.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="postgresql://USER:PW@HOST:PORT/DB of a PostgreSQL server where the benchmark may "
        "create (and then drop) a database: every step then also runs on PostgreSQL",
    )
    parser.add_argument(
        "--no-sqlite", action="store_true", help="with --database: skip the SQLite baseline"
    )
    parser.add_argument(
        "--no-baseline-pull",
        action="store_true",
        help="skip (d0), the previous one-snapshot pull (about 4 ms per task)",
    )
    parser.add_argument(
        "--no-tasks-api",
        action="store_true",
        help="skip (e), the paged tasks list API (about 8 ms per task)",
    )
    parser.add_argument(
        "--annotators", type=int, default=4, help="(f): annotator threads saving (default 4)"
    )
    parser.add_argument("--no-saving", action="store_true", help="skip (f)")
    parser.add_argument("--no-storage-import", action="store_true", help="skip (g)")
    parser.add_argument(
        "--storage-tasks",
        type=int,
        default=2000,
        help="(g): import this many of the tasks from storage (default 2,000: about 20 tasks/s)",
    )
    args = parser.parse_args()
    tasks, predictions = make_tasks(args.tasks)
    by_database: dict[str, list[Row]] = {}
    if not (args.no_sqlite and args.database):
        by_database["SQLite"] = run_benchmark(
            args, database="sqlite", tasks=tasks, predictions=predictions
        )
    if args.database:
        by_database["PostgreSQL"] = run_on_postgresql(args, tasks=tasks, predictions=predictions)
    for name, rows in by_database.items():
        print_table(
            f"Label Studio benchmark on {name}: {args.tasks:,} tasks, 3 spans + 2 relations "
            f"each, batch size {args.batch_size}",
            rows,
        )
    if len(by_database) > 1:
        print_side_by_side(by_database)


if __name__ == "__main__":
    main()
