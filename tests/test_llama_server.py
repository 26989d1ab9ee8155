"""scripts/llama_server.py: CPU flags -> the server's cmake args, the cache folder's name, the build.json check
(a CPU without the recorded flags, a binary that changed) and the command line. Nothing is compiled here."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "llama_server.py"
_spec = importlib.util.spec_from_file_location("llama_server", SCRIPT)
assert _spec and _spec.loader
ls = importlib.util.module_from_spec(_spec)
sys.modules["llama_server"] = ls
_spec.loader.exec_module(ls)

VERSION = "0.3.36"
BASELINE = {"sse3", "ssse3", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
AVX512_FULL = BASELINE | {
    "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512_vnni", "avx512vbmi", "avx512_bf16",
    "avx_vnni", "amx_tile", "amx_int8", "amx_bf16",
}  # fmt: skip


def cpuinfo(tmp_path: Path, flags: set[str]) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: {' '.join(sorted(flags))}\n", encoding="utf-8")
    return path


def record(cache: Path, flags: set[str], binary: bytes = b"\x7fELF fake server") -> Path:
    """A cached build as `build` leaves it: the binary and its build.json."""
    flavour = ls.server_flavour(frozenset(flags))
    folder = ls.folder_for(cache, VERSION, flavour)
    folder.mkdir(parents=True)
    (folder / "llama-server").write_bytes(binary)
    build = {
        "version": VERSION,
        "flavour": flavour.name,
        "cmake_args": flavour.cmake_args,
        "requires_cpu_flags": list(flavour.required),
        "sha256": hashlib.sha256(binary).hexdigest(),
    }
    (folder / "build.json").write_text(json.dumps(build), encoding="utf-8")
    return folder / "llama-server"


def run(tmp_path: Path, flags: set[str], *args: str) -> list[str]:
    return ["--cache-dir", str(tmp_path / "cache"), "--cpuinfo", str(cpuinfo(tmp_path, flags)),
            "--llama-version", VERSION, *args]  # fmt: skip


def test_the_server_gets_the_wheels_avx512_args_and_only_the_server_never_amx_or_native():
    flavour = ls.server_flavour(frozenset(AVX512_FULL))
    args = flavour.cmake_args.split()
    assert flavour.name == "avx512"
    assert args[: len(ls.SERVER_ARGS)] == list(ls.SERVER_ARGS)
    assert "-DBUILD_SHARED_LIBS=OFF" in args and "-DLLAMA_BUILD_SERVER=ON" in args
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_AVX512_BF16=ON" in args and "-DGGML_AVX_VNNI=ON" in args
    assert not any("LLAVA" in a or "AMX" in a or a == "-DGGML_NATIVE=ON" for a in args)
    assert {"avx512f", "avx512_bf16", "avx_vnni", "sse4_2"} <= set(flavour.required)
    assert not any(flag.startswith("amx") for flag in flavour.required)


def test_a_cpu_without_sse4_2_or_avx2_gets_them_switched_off():
    flavour = ls.server_flavour(frozenset({"sse3", "avx"}))
    assert flavour.name == "portable"
    assert "-DGGML_SSE42=OFF" in flavour.cmake_args and "-DGGML_AVX2=OFF" in flavour.cmake_args
    assert "sse4_2" not in flavour.required and "avx2" not in flavour.required


def test_the_cache_folder_is_flavour_and_a_hash_of_version_and_args(tmp_path):
    flavour = ls.server_flavour(frozenset(AVX512_FULL))
    folder = ls.folder_for(tmp_path, VERSION, flavour)
    assert folder.parent == tmp_path / "llama-server"
    name, _, digest = folder.name.partition("-")
    assert name == "avx512" and len(digest) == 12 and int(digest, 16) >= 0
    assert ls.folder_for(tmp_path, "0.3.37", flavour) != folder
    other = ls.Flavour(flavour.name, flavour.cmake_args + " -DGGML_LLAMAFILE=OFF", flavour.required)
    assert ls.folder_for(tmp_path, VERSION, other) != folder
    # not the wheel's folder: the server's args differ from the wheel's
    assert ls.server_flavour(frozenset(BASELINE)).key(VERSION) != ls.flavour_for(frozenset(BASELINE)).key(VERSION)


def test_a_recorded_build_is_reused_and_its_hash_checked(tmp_path):
    binary = record(tmp_path, AVX512_FULL)
    flavour, cpu = ls.server_flavour(frozenset(AVX512_FULL)), frozenset(AVX512_FULL)
    assert ls.cached(binary.parent, VERSION, flavour, cpu) == binary
    assert ls.cached(binary.parent, "0.3.37", flavour, cpu) is None  # another version: build again
    binary.write_bytes(b"something else")
    with pytest.raises(ls.ServerError, match="does not match the sha256"):
        ls.cached(binary.parent, VERSION, flavour, cpu)


def test_a_build_needing_flags_this_cpu_lacks_is_refused(tmp_path, capsys):
    binary = record(tmp_path / "cache", AVX512_FULL)
    lacking = AVX512_FULL - {"avx512_bf16", "avx_vnni"}
    flavour = ls.server_flavour(frozenset(AVX512_FULL))  # the copied cache's record, seen from a lesser CPU
    with pytest.raises(ls.WheelError, match="avx512_bf16, avx_vnni"):
        ls.cached(binary.parent, VERSION, flavour, frozenset(lacking))
    # On the command line: a record in this CPU's own folder that asks for more (a cache copied from elsewhere).
    own = record(tmp_path / "cache", lacking)
    build = json.loads((own.parent / "build.json").read_text(encoding="utf-8"))
    (own.parent / "build.json").write_text(json.dumps({**build, "requires_cpu_flags": ["avx512_bf16"]}), "utf-8")
    capsys.readouterr()
    assert ls.main(run(tmp_path, lacking, "path")) == 1
    err = capsys.readouterr().err
    assert "needs CPU flags this machine lacks: avx512_bf16" in err and err.count("\n") == 1


def test_path_with_nothing_built_exits_2_with_one_line(tmp_path, capsys):
    assert ls.main(run(tmp_path, AVX512_FULL, "path")) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "not built" in err and "llama_server.py build" in err


def test_path_and_build_print_a_cached_binary_without_compiling(tmp_path, capsys, monkeypatch):
    binary = record(tmp_path / "cache", AVX512_FULL)
    monkeypatch.setattr(ls, "build", lambda *a: pytest.fail("compiled although the binary is cached"))
    for command in ("path", "build"):
        assert ls.main(run(tmp_path, AVX512_FULL, command)) == 0
        assert capsys.readouterr().out.strip() == str(binary)


def test_a_missing_compiler_is_one_clear_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(ls.shutil, "which", lambda tool: None if tool == "c++" else f"/usr/bin/{tool}")
    assert ls.main(run(tmp_path, AVX512_FULL, "build")) == 1
    err = capsys.readouterr().err
    assert err.startswith("llama-server: c++ not found") and err.count("\n") == 1


def test_a_downloaded_sdist_is_reused(tmp_path, monkeypatch):
    (tmp_path / f"llama_cpp_python-{VERSION}.tar.gz").write_bytes(b"sdist")
    monkeypatch.setattr(ls.subprocess, "run", lambda *a, **k: pytest.fail("pip ran although the sdist is there"))
    assert ls.sdist(tmp_path, VERSION) == tmp_path / f"llama_cpp_python-{VERSION}.tar.gz"


def test_help_explains_the_commands():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    assert "continuous batching" in out and "build" in out and "path" in out and "build.json" in out
