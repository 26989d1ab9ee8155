"""rag/models/embedding_server.py against a real HTTP server on 127.0.0.1 (tests/embedserver.py): what is sent
(prompts, batches, model, key), what comes back (normalised, in order), and every way a server can fail."""

from __future__ import annotations

import logging
import math
import socket
import time
from collections.abc import Iterator

import pytest

from rag.answering.retrieval import retrieve
from rag.ingest.pipeline import index_paths
from rag.models.embedding import get_embedder
from rag.models.embedding_server import EmbeddingServerError, Retries, ServerEmbedder, server_embedder
from rag.store.chroma import StoreMismatchError, open_store
from tests.embedserver import DIMENSION, EmbeddingServer, serve_embeddings, unit_vector
from tests.fakes import HashEmbedder

QUERY_PROMPT = "task: search result | query: "
DOCUMENT_PROMPT = "title: none | text: "
QUICK = Retries(attempts=3, first_wait_s=0.01)


@pytest.fixture
def server() -> Iterator[EmbeddingServer]:
    with serve_embeddings() as running:
        yield running


def embedder(server: EmbeddingServer, backend: str = "openai", **options) -> ServerEmbedder:
    base = server.url + ("/v1" if backend == "openai" else "")
    options = {"batch_size": 3, "retries": QUICK, **options}
    return ServerEmbedder(backend, base, "gemma-on-a-server", (QUERY_PROMPT, DOCUMENT_PROMPT), **options)


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # closed again: nothing listens there


@pytest.mark.parametrize(("backend", "path"), [("openai", "/v1/embeddings"), ("ollama", "/api/embed")])
def test_texts_are_sent_with_the_prompts_and_come_back_normalised_in_order(server, backend, path):
    client = embedder(server, backend)
    texts = ["Erster Satz.", "Second one.", "", "Vierter.", "Fünfter Satz über Berlin."]
    vectors = client.embed_documents(texts)
    query = client.embed_query("Wer ist Stoltenberg?")
    assert client.dimension == DIMENSION and client.backend == backend
    assert {r.path for r in server.requests} == {path}
    assert all(r.body["model"] == "gemma-on-a-server" for r in server.requests)
    # The probe, the documents in batches of 3 (sent at once: either may come first), the query: each text with
    # its prompt, as SentenceTransformers encodes it.
    documents, last = sorted(server.inputs()[1:3], key=len, reverse=True), server.inputs()[3]
    assert documents == [[DOCUMENT_PROMPT + t for t in texts[:3]], [DOCUMENT_PROMPT + t for t in texts[3:]]]
    assert last == [QUERY_PROMPT + "Wer ist Stoltenberg?"] and len(server.requests) == 4
    assert vectors == [pytest.approx(unit_vector(DOCUMENT_PROMPT + t)) for t in texts]
    assert query == pytest.approx(unit_vector(QUERY_PROMPT + "Wer ist Stoltenberg?"))
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in [*vectors, query])


def test_batches_hold_at_most_the_batch_size(server):
    client = embedder(server, batch_size=4)
    client.embed_documents([f"Text {i}" for i in range(10)])
    assert sorted(len(texts) for texts in server.inputs()[1:]) == [2, 4, 4]  # after the probe, in any order


def test_several_batches_are_in_flight_at_once_but_no_more_than_the_concurrency(server):
    server.delay_s = 0.2
    client = embedder(server, batch_size=1, concurrency=3)
    started = time.perf_counter()
    vectors = client.embed_documents([f"Text {i}" for i in range(6)])
    assert server.max_in_flight == 3
    assert time.perf_counter() - started < 6 * 0.2  # six one-at-a-time requests would take 1.2 s
    assert vectors == [pytest.approx(unit_vector(DOCUMENT_PROMPT + f"Text {i}")) for i in range(6)]


def test_concurrency_one_sends_one_batch_at_a_time(server):
    server.delay_s = 0.05
    embedder(server, batch_size=1, concurrency=1).embed_documents([f"Text {i}" for i in range(4)])
    assert server.max_in_flight == 1


@pytest.mark.parametrize("status", [503, 429, 500])
def test_a_passing_failure_is_retried(server, status):
    client = embedder(server)
    server.fail_first = [status, status]
    assert client.embed_query("Frage") == pytest.approx(unit_vector(QUERY_PROMPT + "Frage"))
    assert len(server.requests) == 1 + 3


def test_retries_wait_longer_each_time(server):
    client = embedder(server, retries=Retries(attempts=3, first_wait_s=0.1))
    server.fail_first = [503, 503]
    started = time.perf_counter()
    client.embed_query("Frage")
    assert time.perf_counter() - started >= 0.1 + 0.2


def test_logs_carry_counts_and_the_url_never_a_text(server, caplog):
    client = embedder(server)
    server.fail_first = [503]
    with caplog.at_level(logging.DEBUG, logger="rag.models.embedding_server"):
        client.embed_documents(["Geheimer Satz eins.", "Geheimer Satz zwei.", "Drei.", "Vier."])
    assert "retrying" in caplog.text and server.url in caplog.text and "embedded 4 texts in 2 batches" in caplog.text
    assert "Geheim" not in caplog.text and "title: none" not in caplog.text


def test_a_lasting_failure_names_the_url_and_the_status(server):
    client = embedder(server)
    server.fail_first = [503] * 5
    with pytest.raises(EmbeddingServerError, match="HTTP 503 after 3 attempts") as error:
        client.embed_documents(["Text"])
    assert f"{server.url}/v1/embeddings" in str(error.value)
    assert len(server.requests) == 1 + 3


@pytest.mark.parametrize(("status", "hint"), [(404, "embedding_model 'gemma-on-a-server'"), (401, "embedding_api_key")])
def test_a_client_error_is_not_retried_and_shows_the_servers_reason(server, status, hint):
    client = embedder(server)
    server.fail_first = [status]
    with pytest.raises(EmbeddingServerError, match=f"HTTP {status}: .*status {status} on purpose") as error:
        client.embed_query("Frage")
    assert hint in str(error.value)
    assert len(server.requests) == 1 + 1


def test_a_server_that_never_answers_times_out_without_retrying(server):
    client = embedder(server, timeout_s=0.3)
    server.hang = True
    started = time.perf_counter()
    with pytest.raises(EmbeddingServerError, match=r"did not answer within 0\.3 s"):
        client.embed_query("Frage")
    assert time.perf_counter() - started < 2.0
    assert len(server.requests) == 1 + 1


def test_a_dead_port_is_a_clear_error_naming_the_url():
    url = dead_url()
    with pytest.raises(EmbeddingServerError, match="cannot be reached") as error:
        ServerEmbedder("openai", url, "m", ("", ""), 8, retries=QUICK)
    assert f"{url}/embeddings" in str(error.value) and "embedding_base_url" in str(error.value)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"dimension_after": 5}, "5 dimensions, expected 8"),
        ({"drop_one": True}, "returned 2 vectors for 3 texts"),
        ({"not_json": True}, "something other than JSON"),
    ],
)
def test_a_wrong_answer_is_refused_naming_the_url(server, fault, message):
    client = embedder(server)
    for name, value in fault.items():
        setattr(server, name, value)
    with pytest.raises(EmbeddingServerError, match=message) as error:
        client.embed_documents(["a", "b", "c"])
    assert server.url in str(error.value)


def test_the_api_key_is_sent_as_a_bearer_token(server):
    embedder(server, api_key="sekret")
    assert server.requests[0].headers["Authorization"] == "Bearer sekret"


def test_the_settings_choose_the_server(server, tmp_settings):
    settings = tmp_settings.model_copy(
        update={"embedding_backend": "ollama", "embedding_base_url": server.url, "embedding_batch_size": 2}
    )
    chosen = get_embedder(settings)
    assert isinstance(chosen, ServerEmbedder) and chosen.url == f"{server.url}/api/embed"
    assert chosen.model_id == "embeddinggemma-300m"  # the model name is the one setting, embedding_model
    chosen.embed_documents(["a", "b", "c"])
    assert sorted(len(texts) for texts in server.inputs()) == [1, 1, 2]  # the probe and two batches


def test_an_index_built_through_a_server_records_it_and_is_used_through_it(server, tmp_settings, seeds_copy):
    server.delay_s = 0.02
    settings = tmp_settings.model_copy(update={"embedding_backend": "openai", "embedding_base_url": server.url + "/v1"})
    client = server_embedder(settings, QUICK)
    store = open_store(settings)
    report = index_paths([seeds_copy], settings, store, lambda: client)
    signature = store.signature()
    assert signature is not None and (signature.embedding_backend, signature.embedding_model) == (
        "openai",
        "embeddinggemma-300m",
    )
    sizes = [len(texts) for texts in server.inputs()[1:]]
    assert sum(sizes) == report.chunks_embedded and max(sizes) == settings.embedding_batch_size
    assert server.max_in_flight > 1  # indexing hands the embedder several batches at once
    assert retrieve("Stoltenberg", store, client, 3).chunks


def test_vectors_of_the_same_model_from_elsewhere_are_refused(server, tmp_settings, seeds_copy):
    """Same model name and size, another backend: the index says which was used and how to rebuild."""
    store = open_store(tmp_settings)
    index_paths([seeds_copy], tmp_settings, store, lambda: HashEmbedder(DIMENSION, "gemma-on-a-server"))
    with pytest.raises(StoreMismatchError, match="rag index --rebuild") as error:
        retrieve("Stoltenberg", store, embedder(server), 3)
    assert "'gemma-on-a-server' (in-process, 8 dimensions)" in str(error.value)
    assert "'gemma-on-a-server' (via openai, 8 dimensions)" in str(error.value)
    (seeds_copy / "new.txt").write_text("Neu\n\nEin neuer Artikel über Berlin.\n")
    with pytest.raises(StoreMismatchError, match="via openai"):
        index_paths([seeds_copy], tmp_settings, store, lambda: embedder(server))
