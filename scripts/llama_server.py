#!/usr/bin/env python3
"""llama-server (llama.cpp's own HTTP server: parallel slots, continuous batching) built for the CPU this runs on.

`build` compiles llama-server from the llama.cpp that the pinned llama-cpp-python sdist vendors, with the CPU
flavour and ggml options the project's wheel uses (scripts/llama_wheel.py; AMX / -DGGML_NATIVE=ON never), and
caches it at $CACHE/llama-server/<flavour>-<hash of version and cmake args>/llama-server next to a build.json
(version, cmake args, the CPU flags it needs, sha256 of the binary). A second `build` checks that record (the
binary's sha256, this CPU's flags) and returns at once. `path` prints the binary's path (exit 2 if not built).
Needs cmake and a C++ compiler; compiling takes 10-20 minutes on 2 cores, once per machine.

Standard library only, like scripts/llama_wheel.py, whose flavour choice and cache helpers it reuses.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # llama_wheel sits next to this file

from llama_wheel import (  # noqa: E402  (needs the path above)
    FLAVOURS,
    LABELS,
    Flavour,
    WheelError,
    check_build,
    default_cache_dir,
    flavour_for,
    now,
    pinned_version,
    read_cpu_flags,
    read_json,
    say,
    sha256_file,
    write_json,
)

PACKAGE = "llama-cpp-python"
BINARY = "llama-server"
# Only the server, statically linked; no HTTPS, no web UI (its assets would be fetched from Hugging Face).
SERVER_ARGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)
WHEEL_ONLY = ("-DLLAVA_BUILD=",)  # llama-cpp-python's own options: unknown to llama.cpp's CMakeLists


class ServerError(WheelError):
    """No usable llama-server: a tool is missing, the build failed, or the cached binary does not check out."""


def server_flavour(cpu: frozenset[str], name: str = "auto") -> Flavour:
    """The wheel's flavour for this CPU with the server's cmake args; ggml also compiles with -msse4.2 by default."""
    wheel = flavour_for(cpu, name)
    args = [*SERVER_ARGS, *(a for a in wheel.cmake_args.split() if not a.startswith(WHEEL_ONLY))]
    required = set(wheel.required)
    if "sse4_2" in cpu:
        required.add("sse4_2")
    else:
        args.append("-DGGML_SSE42=OFF")
    return Flavour(wheel.name, " ".join(args), tuple(sorted(required)))


def folder_for(cache_dir: Path, version: str, flavour: Flavour) -> Path:
    return cache_dir / BINARY / flavour.key(version)


def cached(folder: Path, version: str, flavour: Flavour, cpu: frozenset[str]) -> Path | None:
    """The binary recorded in folder if it is this version and these args; raise if this CPU or its hash is wrong."""
    build = read_json(folder / "build.json")
    if build is None:
        return None
    check_build(build, cpu, folder)  # a binary needing flags this CPU lacks would die with SIGILL
    if build.get("version") != version or build.get("cmake_args") != flavour.cmake_args:
        return None
    binary = folder / BINARY
    if not binary.is_file():
        return None
    if sha256_file(binary) != build.get("sha256"):
        raise ServerError(f"{binary} does not match the sha256 in its build.json; delete {folder} and build again")
    return binary


def sdist(src: Path, version: str) -> Path:
    """The llama-cpp-python sdist in src, downloaded from PyPI with pip unless it is there already."""
    name = f"llama_cpp_python-{version}.tar.gz"
    if not (src / name).is_file():
        src.mkdir(parents=True, exist_ok=True)
        say(f"llama-server: downloading the {PACKAGE} {version} sdist into {src}")
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        if subprocess.run([*cmd, "-d", str(src), f"{PACKAGE}=={version}"], check=False).returncode != 0:
            raise ServerError(f"pip could not download the {PACKAGE}=={version} sdist")
    if not (src / name).is_file():
        raise ServerError(f"pip left no {name} in {src}")
    return src / name


def run_logged(cmd: Sequence[str], log: Path, folder: Path) -> None:
    with log.open("a") as out:
        out.write(f"$ {shlex.join(cmd)}\n")
        out.flush()
        code = subprocess.run(list(cmd), stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    if code != 0:
        raise ServerError(f"`{shlex.join(cmd[:3])} …` failed with exit {code}; log: {log}")


def build(cache_dir: Path, version: str, flavour: Flavour, jobs: int) -> Path:
    """Unpack the sdist, configure and compile only the llama-server target, and record the binary."""
    missing = [tool for tool in ("cmake", "c++") if shutil.which(tool) is None]
    if missing:
        raise ServerError(f"{' and '.join(missing)} not found; install them (apt-get install cmake g++) and retry")
    folder = folder_for(cache_dir, version, flavour)
    folder.mkdir(parents=True, exist_ok=True)
    tarball = sdist(cache_dir / BINARY / "src", version)
    log = folder / "build.log"
    log.write_text("", encoding="utf-8")
    say(f"llama-server: compiling llama.cpp from {PACKAGE} {version}, {LABELS[flavour.name]} build "
        f"({flavour.cmake_args}); 10-20 minutes on {jobs} jobs; log: {log}")  # fmt: skip
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        source = Path(tmp) / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
        if not (source / "CMakeLists.txt").is_file():
            raise ServerError(f"{tarball} has no vendor/llama.cpp/CMakeLists.txt")
        out = Path(tmp) / "build"
        run_logged(["cmake", "-S", str(source), "-B", str(out), *flavour.cmake_args.split()], log, folder)
        run_logged(["cmake", "--build", str(out), "--target", BINARY, f"-j{jobs}"], log, folder)
        built = out / "bin" / BINARY
        if not built.is_file():
            raise ServerError(f"the build made no {built}; log: {log}")
        shutil.copy2(built, folder / f"{BINARY}.tmp")
    (folder / f"{BINARY}.tmp").replace(folder / BINARY)
    write_json(
        folder / "build.json",
        {
            "binary": BINARY,
            "package": PACKAGE,
            "version": version,
            "flavour": flavour.name,
            "cmake_args": flavour.cmake_args,
            "requires_cpu_flags": list(flavour.required),
            "sha256": sha256_file(folder / BINARY),
            "sdist_sha256": sha256_file(tarball),
            "build_seconds": round(time.monotonic() - started),
            "recorded": now(),
        },
    )
    say(f"llama-server: built in {time.monotonic() - started:.0f} s")
    return folder / BINARY


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $RAG_CACHE_DIR or ~/.cache/newsrag")
    parser.add_argument("--cpuinfo", type=Path, default=Path("/proc/cpuinfo"), help="read CPU flags from this file")
    parser.add_argument("--llama-version", help="llama-cpp-python version (default: the pin in constraints.txt)")
    parser.add_argument("--flavour", default="auto", choices=("auto", *FLAVOURS), help="default: the CPU's best")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build llama-server unless it is cached; print the binary's path")
    p.add_argument("-j", "--jobs", type=int, default=2, help="parallel compile jobs (default: 2)")
    sub.add_parser("path", help="print the cached binary's path; exit 2 if it is not built")
    args = parser.parse_args(argv)

    cache_dir = args.cache_dir or default_cache_dir()
    cpu = read_cpu_flags(args.cpuinfo)
    try:
        version = args.llama_version or pinned_version()
        flavour = server_flavour(cpu, args.flavour)
        binary = cached(folder_for(cache_dir, version, flavour), version, flavour, cpu)
        if binary is None and args.command == "path":
            say(f"llama-server: not built for this CPU ({flavour.name}); run `python scripts/llama_server.py build`")
            return 2
        print(binary or build(cache_dir, version, flavour, args.jobs))
    except WheelError as exc:
        say(f"llama-server: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
