"""The Label Studio client: requests that must not be repeated go out once, the one private SDK
part is guarded, and the generated labeling config passes the SDK's own LabelInterface."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest
from label_studio_sdk import LabelStudio as SDKClient

from annotation.labelstudio import (
    LabelStudio,
    LabelStudioRequestError,
    is_safe_to_repeat,
    labeling_config_problems,
    prediction_problems,
    prediction_to_payload,
    sdk_http_client,
)
from annotation.labelstudio.exports import export_raw
from annotation.labelstudio.server import Connection
from annotation.records import SOURCE_PREDICTION, Annotation, Relation, Span
from annotation.schema import Schema
from annotation.tasks import documents_to_tasks
from corpus.errors import LabelStudioError
from corpus.records import Document

TEXT = "Vietnam Customs seized 500 kg of ketamine in Hai Phong."


def _annotation() -> Annotation:
    def span(span_id: str, phrase: str, label: str) -> Span:
        start = TEXT.index(phrase)
        return Span(span_id, start, start + len(phrase), label, phrase)

    spans = (
        span("a", "Vietnam Customs", "AGENCY"),
        span("s", "500 kg of ketamine", "SEIZURE"),
        span("d", "ketamine", "DRUG"),
    )
    relations = (Relation("s", "a", "SEIZED_BY"), Relation("s", "d", "SEIZED_ITEM"))
    return Annotation("rules-test", spans, relations, source=SOURCE_PREDICTION, score=0.5)


# -- without a server ---------------------------------------------------------------------


def test_generated_labeling_config_passes_the_sdk_label_interface(schema: Schema) -> None:
    config = schema.to_labeling_config()
    assert labeling_config_problems(config, labels=schema.entity_names) == []
    payload = prediction_to_payload(_annotation(), chunk_start=0)
    assert prediction_problems(config, payload) == []


def test_label_interface_check_can_fail(schema: Schema) -> None:
    config = schema.to_labeling_config()
    assert labeling_config_problems(config, labels=[*schema.entity_names, "EXTRA"])
    broken = config.replace('toName="text"', 'toName="nowhere"')
    assert labeling_config_problems(broken, labels=schema.entity_names)
    payload = prediction_to_payload(_annotation(), chunk_start=0)
    payload["result"][0]["value"]["labels"] = ["NOT_A_LABEL"]
    assert prediction_problems(config, payload)


def test_sdk_http_client_is_the_authenticated_client_of_this_sdk_release() -> None:
    """Fails loudly when an SDK release moves `_client_wrapper.httpx_client`: update
    annotation/labelstudio/client.py:sdk_http_client (the only private SDK part used)."""
    sdk = SDKClient(base_url="http://127.0.0.1:9", api_key="not-a-key")
    http = sdk_http_client(sdk)
    assert http is sdk._client_wrapper.httpx_client
    assert http.base_headers()["Authorization"].endswith("not-a-key")


def test_sdk_http_client_refuses_an_sdk_without_it() -> None:
    with pytest.raises(
        LabelStudioError, match="update annotation/labelstudio/client.py:sdk_http_client"
    ):
        sdk_http_client(SimpleNamespace(_client_wrapper=SimpleNamespace()))  # type: ignore[arg-type]


def test_creates_and_posts_are_not_safe_to_repeat_reads_and_updates_are() -> None:
    sdk = SDKClient(base_url="http://127.0.0.1:9", api_key="not-a-key")
    for func in (
        sdk.annotations.create,
        sdk.predictions.create,
        sdk.projects.create,
        sdk.projects.exports.create,
        sdk.projects.import_tasks,
        sdk.users.create,
        sdk.tokens.create,
    ):
        assert not is_safe_to_repeat(func, {}), func
    for func in (sdk.tasks.update, sdk.annotations.get, sdk.projects.exports.delete):
        assert is_safe_to_repeat(func, {}), func
    http = sdk_http_client(sdk)
    assert not is_safe_to_repeat(http.request, {"method": "POST"})
    assert is_safe_to_repeat(http.request, {"method": "PATCH"})
    assert is_safe_to_repeat(http.request, {"method": "GET"})


# -- against the real server, through a proxy that fails the first create -----------------


@dataclass
class FailingProxy:
    """127.0.0.1 proxy in front of Label Studio: the first POST whose path matches `fail` is
    passed on (the server commits it), then answered with 503, as a gateway timing out would."""

    upstream: str
    fail: re.Pattern[str]
    failed: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length")
                }
                with httpx.Client(base_url=proxy.upstream, timeout=120) as client:
                    answer = client.request(self.command, self.path, headers=headers, content=body)
                proxy.seen.append(f"{self.command} {self.path}")
                if self.command == "POST" and proxy.fail.search(self.path) and not proxy.failed:
                    proxy.failed.append(self.path)
                    self._send(503, b'{"detail": "proxy: upstream timed out"}')
                    return
                self._send(answer.status_code, answer.content, answer.headers.get("content-type"))

            def _send(self, status: int, body: bytes, kind: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind or "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        return Handler


@pytest.fixture()
def failing_proxy(label_studio) -> Iterator[tuple[FailingProxy, str]]:
    proxy = FailingProxy(
        upstream=label_studio.connection.url, fail=re.compile(r"/api/tasks/\d+/annotations/?$")
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _one_task(client: LabelStudio, project_id: int, schema: Schema) -> int:
    doc = Document(id="retry1", source="retry1.txt", raw_text=TEXT, clean_text=TEXT)
    (task,) = documents_to_tasks([doc], schema=schema)
    (task_id,) = client.import_tasks(project_id, [task])
    return task_id


def _annotation_count(client: LabelStudio, project_id: int) -> int:
    (task,) = export_raw(client, project_id)
    return len(task["annotations"])


@pytest.mark.labelstudio
def test_a_failed_create_is_not_retried_and_creates_no_duplicate(
    label_studio, ls_project, schema, failing_proxy
) -> None:
    proxy, proxy_url = failing_proxy
    task_id = _one_task(label_studio.client, ls_project.id, schema)
    through_proxy = LabelStudio(
        Connection(url=proxy_url, api_key=label_studio.connection.api_key, source="test")
    )
    with pytest.raises(LabelStudioRequestError) as info:
        through_proxy.add_annotation(task_id, _annotation(), chunk_start=0, user_id=None)
    assert info.value.maybe_committed
    assert "adding an annotation to task" in str(info.value) and "HTTP 503" in str(info.value)
    assert len(proxy.failed) == 1
    assert [s for s in proxy.seen if s.startswith("POST")] == [f"POST {proxy.failed[0]}"]
    assert _annotation_count(label_studio.client, ls_project.id) == 1


@pytest.mark.labelstudio
def test_the_sdk_default_would_have_duplicated_the_annotation(
    label_studio, ls_project, schema, failing_proxy
) -> None:
    """The control: the same call with the SDK's default retries creates two annotations."""
    proxy, proxy_url = failing_proxy
    task_id = _one_task(label_studio.client, ls_project.id, schema)
    sdk = SDKClient(base_url=proxy_url, api_key=label_studio.connection.api_key)
    results = prediction_to_payload(_annotation(), chunk_start=0)["result"]
    sdk.annotations.create(task_id, result=results)  # retried after the 503
    assert len(proxy.failed) == 1
    assert _annotation_count(label_studio.client, ls_project.id) == 2
