"""Benchmark push and pull against an embedded Label Studio server (not a test).

    .venv/bin/python scripts/bench_labelstudio.py [--tasks 10000]

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
Server and client CPU seconds are measured from /proc for (d) and (d0).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotation.labelstudio import LabelStudio, pages_to_tasks  # noqa: E402
from annotation.labelstudio.export_records import export_to_tasks  # noqa: E402
from annotation.labelstudio.exports import export_raw_bytes, list_tasks_raw_pages  # noqa: E402
from annotation.labelstudio.pull import pull, read_export  # noqa: E402
from annotation.labelstudio.push import push_tasks  # noqa: E402
from annotation.labelstudio.server import Connection, start_server, stop_server  # noqa: E402
from annotation.labelstudio.task_scan import read_task_list_head  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks", type=int, default=10_000, help="number of tasks (default 10,000)"
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="push batch size")
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
    args = parser.parse_args()
    schema = load_schema()
    tasks, predictions = make_tasks(args.tasks)
    with tempfile.TemporaryDirectory(prefix="bench-ls-") as tmp:
        workdir = Path(tmp)
        info = start_server(workdir=workdir, timeout=600)
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
        finally:
            stop_server(workdir=workdir)
    print(
        f"\nLabel Studio benchmark: {args.tasks:,} tasks, 3 spans + 2 relations each, "
        f"batch size {args.batch_size}\n"
    )
    print("| step | seconds | tasks/s | note |")
    print("| --- | ---: | ---: | --- |")
    for name, seconds, rate, note in rows:
        print(f"| {name} | {seconds:.1f} | {rate:,.0f} | {note} |")


if __name__ == "__main__":
    main()
