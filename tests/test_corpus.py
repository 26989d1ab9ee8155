import hashlib
from pathlib import Path

import pytest

from rag.evaluation.corpus import CORPUS_CHUNK_STATES, CorpusError, corpus_key, corpus_settings
from rag.ingest import CHUNKER_VERSION
from rag.models.chunk_states import ChunkStates
from rag.settings import Settings


def _corpus(tmp_path: Path, text: str = "Ein Artikel.") -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text(text, encoding="utf-8")
    return folder


def test_a_scratch_corpus_keeps_its_chunk_states_apart_from_the_index(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", index_dir=tmp_path / "index")
    scratch = corpus_settings(settings, corpus_key(_corpus(tmp_path), settings))
    assert ChunkStates.from_settings(scratch).directory == tmp_path / "cache" / CORPUS_CHUNK_STATES
    assert ChunkStates.from_settings(scratch).directory != ChunkStates.from_settings(settings).directory
    assert scratch.chunk_states_mb == settings.chunk_states_mb
    assert scratch.index_dir != settings.index_dir and scratch.collection == "corpus"


def test_the_corpus_key_follows_the_files_content(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache")
    first = corpus_key(_corpus(tmp_path), settings)
    assert corpus_key(_corpus(tmp_path), settings).key == first.key
    assert corpus_key(_corpus(tmp_path, "Ein anderer Artikel."), settings).key != first.key


def test_an_embedding_server_gets_a_scratch_store_of_its_own_and_in_process_keys_stay(tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    settings = Settings(cache_dir=tmp_path / "cache")
    local = corpus_key(folder, settings).key
    assert corpus_key(folder, settings.model_copy(update={"embedding_backend": "openai"})).key != local
    # The key as it was computed before embedding servers: the scratch stores already built are found again.
    shape = (settings.embedding_model, CHUNKER_VERSION, settings.chunk_max_chars, settings.chunk_overlap_sentences)
    digest = hashlib.sha256(repr(shape).encode())
    digest.update(b"a.txt\x00" + hashlib.sha256(b"Ein Artikel.").digest())
    assert local == digest.hexdigest()[:16]


def test_a_folder_without_articles_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="holds no supported article files"):
        corpus_key(tmp_path, Settings())
    with pytest.raises(CorpusError, match="is not a folder"):
        corpus_key(tmp_path / "missing", Settings())
