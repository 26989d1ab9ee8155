#!/usr/bin/env python3
"""The llama-cpp-python wheel for the CPU this runs on: pick a build flavour, build or reuse it, install, smoke-test.

Flavours: `avx512` (the AVX-512 extensions this CPU has, plus AVX-VNNI) and `portable` (AVX2, FMA, F16C, BMI2).
AMX (-DGGML_NATIVE=ON) is never turned on: it crashed on the first prompt here.

Wheels live in $CACHE/wheels/llama-cpp-python/<flavour>-<hash of version and CMAKE_ARGS>/ next to a build.json
that records the version, CMAKE_ARGS and the CPU flags the build needs; that record is checked on every use, so a
cache copied from another machine never installs a build that this CPU cannot run. A failed build or smoke test
is recorded there too, and `choose` then falls back to the portable build instead of trying again.

Standard library only (plus rag.models.files, which is too): setup runs it before the pinned packages are installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python scripts/llama_wheel.py`: rag.models.files lives in the repository

from rag.models.files import MODELS, QWEN_15B, sha256_file  # noqa: E402  (needs the path above)

PACKAGE = "llama-cpp-python"
BASE_ARGS = ("-DLLAVA_BUILD=OFF", "-DGGML_NATIVE=OFF")
# With GGML_NATIVE=OFF ggml turns these on by default; a CPU without one gets it switched off instead.
BASELINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_AVX", ("avx",)),
    ("GGML_AVX2", ("avx2",)),
    ("GGML_FMA", ("fma",)),
    ("GGML_F16C", ("f16c",)),
    ("GGML_BMI2", ("bmi2",)),
)
# The avx512 flavour: option -> /proc/cpuinfo flags its compiler switches need (GGML_AVX512 adds
# -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw). The order is the order of CMAKE_ARGS.
AVX512: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")),
    ("GGML_AVX512_VNNI", ("avx512_vnni",)),
    ("GGML_AVX512_VBMI", ("avx512vbmi",)),
    ("GGML_AVX512_BF16", ("avx512_bf16",)),
    ("GGML_AVX_VNNI", ("avx_vnni",)),
)
FLAVOURS = ("avx512", "portable")
LABELS = {"avx512": "AVX-512", "portable": "portable"}
BUILD_CMD_ENV = "LLAMA_WHEEL_BUILD_CMD"  # tests: a fake build command, called with the output folder appended
SMOKE_TIMEOUT_S = 600
SMOKE_COUNT_TO = 64  # the prompt counts "1, 2, …, 64," (about 200 tokens); the model must go on with 65

Report = Callable[[str], None]


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # stdout carries only the answer (a wheel path)


class WheelError(RuntimeError):
    """No usable wheel: a build failed, or a cached build needs CPU flags this machine lacks."""


class FlavourUnusable(WheelError):
    """One flavour cannot be used here; `choose` falls back to the portable one and says why in one line."""

    def __init__(self, flavour: str, why: str, hint: str) -> None:
        super().__init__(f"{LABELS.get(flavour, flavour)} build {why} ({hint})")
        self.flavour, self.why, self.hint = flavour, why, hint


# -- CPU flags and flavours ---------------------------------------------------------------
def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The flags of the first processor in /proc/cpuinfo text (all cores of a machine share them)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def read_cpu_flags(path: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    try:
        return cpu_flags(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return frozenset()


@dataclass(frozen=True)
class Flavour:
    name: str
    cmake_args: str
    required: tuple[str, ...]  # CPU flags the build's code needs

    def key(self, version: str) -> str:
        """The cache folder name; the hash covers the version too, so a new version never reuses an old build."""
        digest = hashlib.sha256(f"{PACKAGE}=={version}\n{self.cmake_args}".encode()).hexdigest()[:12]
        return f"{self.name}-{digest}"


def flavour_for(flags: Iterable[str], name: str = "auto") -> Flavour:
    """The build for a CPU with these flags: `auto` picks avx512 when the CPU has AVX-512F (and its companions)."""
    have = set(flags)
    args, required = list(BASE_ARGS), list[str]()
    for option, needs in BASELINE:
        if set(needs) <= have:
            required += needs
        else:
            args.append(f"-D{option}=OFF")
    avx512_ok = set(AVX512[0][1]) <= have
    if name == "auto":
        name = "avx512" if avx512_ok else "portable"
    if name == "avx512":
        if not avx512_ok:
            raise WheelError(f"this CPU lacks {', '.join(sorted(set(AVX512[0][1]) - have))}: no AVX-512 build")
        for option, needs in AVX512:  # each extension only if this CPU has it
            if set(needs) <= have:
                args.append(f"-D{option}=ON")
                required += needs
    elif name != "portable":
        raise WheelError(f"unknown flavour {name!r}; choose from {', '.join(FLAVOURS)}")
    return Flavour(name, " ".join(args), tuple(sorted(set(required))))


# -- the cache ----------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """Like setup.sh and rag.settings: $RAG_CACHE_DIR, else $XDG_CACHE_HOME/newsrag, else ~/.cache/newsrag."""
    if os.environ.get("RAG_CACHE_DIR"):
        return Path(os.environ["RAG_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "newsrag"


def pinned_version(constraints: Path = ROOT / "constraints.txt") -> str:
    """The version pip will accept: constraints.txt is the one place it is pinned for installs."""
    match = re.search(r"^llama[-_]cpp[-_]python==(\S+)", constraints.read_text(encoding="utf-8"), re.M | re.I)
    if not match:
        raise WheelError(f"{constraints} pins no llama-cpp-python version")
    return match.group(1)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)  # readers never see half a file


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Cache:
    wheels: Path  # $CACHE/wheels
    version: str

    @property
    def root(self) -> Path:
        return self.wheels / PACKAGE

    def folder(self, flavour: Flavour) -> Path:
        return self.root / flavour.key(self.version)

    def wheel(self, flavour: Flavour, cpu: frozenset[str]) -> Path | None:
        """The cached wheel of this flavour if its build.json matches and this CPU has every flag it needs."""
        build = read_json(self.folder(flavour) / "build.json")
        if build is None:
            return None
        check_build(build, cpu, self.folder(flavour))
        if build.get("version") != self.version or build.get("cmake_args") != flavour.cmake_args:
            return None  # a record from another version or mapping: build again
        path = self.folder(flavour) / str(build.get("wheel"))
        return path if path.is_file() else None

    def record(self, flavour: Flavour, wheel: Path, source: str) -> Path:
        """Move or copy wheel into the flavour's folder (copy unless it is already under the cache) and describe it."""
        folder = self.folder(flavour)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / wheel.name
        if wheel.resolve() != target.resolve():
            shutil.copy2(wheel, target)
        write_json(
            folder / "build.json",
            {
                "package": PACKAGE,
                "version": self.version,
                "flavour": flavour.name,
                "cmake_args": flavour.cmake_args,
                "requires_cpu_flags": list(flavour.required),
                "wheel": target.name,
                "sha256": sha256_file(target),
                "source": source,
                "recorded": now(),
            },
        )
        (folder / "build-failed.json").unlink(missing_ok=True)
        return target

    def legacy_wheels(self) -> list[Path]:
        """Wheels of the old layout ($CACHE/wheels/*.whl, built with BASE_ARGS only)."""
        return sorted(self.wheels.glob(f"llama_cpp_python-{self.version}-*.whl"))


def check_build(build: dict[str, Any], cpu: frozenset[str], folder: Path) -> None:
    """Refuse a build that needs CPU flags this machine lacks (its code would die with SIGILL)."""
    missing = sorted(set(build.get("requires_cpu_flags") or ()) - cpu)
    if missing:
        why = f"needs CPU flags this machine lacks: {', '.join(missing)}"
        raise FlavourUnusable(str(build.get("flavour")), why, f"CMAKE_ARGS={build.get('cmake_args')}; in {folder}")


# -- building ---------------------------------------------------------------------------------
def build_command(version: str) -> list[str]:
    # --no-cache-dir: pip's wheel cache is keyed by the sdist, not CMAKE_ARGS, and would hand back another build.
    return [sys.executable, "-m", "pip", "wheel", "--no-cache-dir", "--no-deps", f"{PACKAGE}=={version}", "-w"]


def build(cache: Cache, flavour: Flavour, command: Sequence[str] | None = None) -> Path:
    """Compile the flavour (command + [output folder], CMAKE_ARGS in the environment) and record the wheel."""
    folder = cache.folder(flavour)
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "build.log"
    cmd = list(command or build_command(cache.version))
    say(f"llama.cpp: compiling {PACKAGE} {cache.version}, {LABELS[flavour.name]} build "
        f"(CMAKE_ARGS={flavour.cmake_args}); 10-20 minutes on 2 cores, once per machine; log: {log}")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=folder) as out, log.open("w") as log_file:
        env = dict(os.environ, CMAKE_ARGS=flavour.cmake_args)
        code = subprocess.run([*cmd, out], env=env, stdout=log_file, stderr=subprocess.STDOUT, check=False).returncode
        wheels = sorted(Path(out).glob(f"llama_cpp_python-{cache.version}-*.whl"))
        if code != 0 or len(wheels) != 1:
            write_json(folder / "build-failed.json", {"cmake_args": flavour.cmake_args, "exit": code, "at": now()})
            raise FlavourUnusable(
                flavour.name, "failed to compile", f"exit {code}; log: {log}; delete {folder} to retry"
            )
        return cache.record(flavour, wheels[0], source=f"built with {shlex.join(cmd)}")


def check_not_failed(cache: Cache, flavour: Flavour, model_sha: str | None) -> None:
    """Raise if this flavour failed before here: its build did not compile, or its wheel failed the smoke test."""
    folder = cache.folder(flavour)
    if (folder / "build-failed.json").is_file():
        raise FlavourUnusable(
            flavour.name, "failed to compile", f"log: {folder / 'build.log'}; delete {folder} to retry"
        )
    build = read_json(folder / "build.json")
    if build and model_sha:
        stamp = read_json(smoke_stamp(folder, str(build.get("sha256")), model_sha))
        if stamp and not stamp.get("passed"):
            raise FlavourUnusable(flavour.name, "failed its smoke test", f"delete {folder} to retry")


def choose(
    cache: Cache,
    cpu: frozenset[str],
    flavour_name: str = "auto",
    model_sha: str | None = None,
    command: Sequence[str] | None = None,
) -> Path:
    """The wheel to install: the CPU's best flavour unless it failed before, else the portable one; built if missing."""
    adopt_legacy(cache, cpu)
    wanted = flavour_for(cpu, flavour_name)
    candidates = [wanted] if wanted.name == "portable" else [wanted, flavour_for(cpu, "portable")]
    for flavour in candidates[:-1]:
        try:
            check_not_failed(cache, flavour, model_sha)
            return cache.wheel(flavour, cpu) or build(cache, flavour, command)
        except FlavourUnusable as exc:
            say(f"llama.cpp: {LABELS[flavour.name]} build {exc.why}; using the portable build ({exc.hint})")
    portable = candidates[-1]
    check_not_failed(cache, portable, model_sha)
    return cache.wheel(portable, cpu) or build(cache, portable, command)


def adopt_legacy(cache: Cache, cpu: frozenset[str]) -> None:
    """Move a wheel of the old layout into the portable folder: it was built with exactly BASE_ARGS."""
    portable = flavour_for(cpu, "portable")
    if portable.cmake_args != " ".join(BASE_ARGS) or cache.wheel(portable, cpu) is not None:
        return
    for wheel in cache.legacy_wheels():
        folder = cache.folder(portable)
        folder.mkdir(parents=True, exist_ok=True)
        moved = wheel.replace(folder / wheel.name)
        cache.record(portable, moved, source=f"adopted from {wheel} (setup.sh before per-CPU builds)")
        say(f"llama.cpp: moved the portable wheel {wheel.name} into {folder}")
        return


# -- installing ---------------------------------------------------------------------------------
def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_record(venv: Path) -> Path:
    return venv / ".llama-build.json"


def _lib_hashes(record_text: str) -> dict[str, str]:
    """RECORD lines of the compiled libraries: path -> sha256 (pip keeps the wheel's hashes when it installs)."""
    out = {}
    for line in record_text.splitlines():
        path, _, rest = line.partition(",")
        if path.startswith("llama_cpp/lib/") and rest:
            out[path] = rest.split(",")[0]
    return out


def wheel_lib_hashes(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as zf:
        record = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        return _lib_hashes(zf.read(record).decode())


def installed_lib_hashes(venv: Path, version: str) -> dict[str, str]:
    for record in venv.glob(f"lib/python3*/site-packages/llama_cpp_python-{version}.dist-info/RECORD"):
        return _lib_hashes(record.read_text(encoding="utf-8"))
    return {}


def install(venv: Path, wheel: Path, cpu: frozenset[str], report: Report = say) -> bool:
    """Install wheel into venv unless its libraries are already the installed ones; True if pip ran."""
    build = read_json(wheel.parent / "build.json")
    if build is None:
        raise WheelError(f"{wheel} has no build.json next to it; get wheels from `choose`")
    check_build(build, cpu, wheel.parent)
    if sha256_file(wheel) != build.get("sha256"):
        raise WheelError(f"{wheel} does not match the sha256 in its build.json; delete {wheel.parent}")
    wanted = wheel_lib_hashes(wheel)
    if wanted and installed_lib_hashes(venv, str(build["version"])) == wanted:
        if (read_json(installed_record(venv)) or {}).get("sha256") != build["sha256"]:  # installed by hand or by pip
            write_json(installed_record(venv), {**build, "wheel_path": str(wheel), "installed": "before this record"})
        return False
    report(f"llama.cpp: installing the {LABELS.get(str(build['flavour']), build['flavour'])} build "
           f"(CMAKE_ARGS={build['cmake_args']})")  # fmt: skip
    # --force-reinstall: pip calls any installed 0.3.36 satisfied, whichever build it is; --no-deps: only this one.
    cmd = [str(venv_python(venv)), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", str(wheel)]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise WheelError(f"pip could not install {wheel}")
    write_json(installed_record(venv), {**build, "wheel_path": str(wheel), "installed": now()})
    return True


# -- the smoke test -----------------------------------------------------------------------------
# Runs in the target interpreter: load the GGUF, evaluate a ~200-token prompt in one batch (where the AMX build
# crashed), then let the model continue the count greedily; a working build says 65.
SMOKE_CODE = r"""
import json, os, sys, time
import llama_cpp
model, count_to = sys.argv[1], int(sys.argv[2])
llm = llama_cpp.Llama(model_path=model, n_ctx=1024, n_batch=512, n_threads=os.cpu_count() or 1, verbose=False)
tokens = llm.tokenize((", ".join(str(i) for i in range(1, count_to + 1)) + ",").encode(), add_bos=False)
started = time.perf_counter()
llm.eval(tokens)
prompt_s = time.perf_counter() - started
out = []
for _ in range(4):
    token = llm.sample(temp=0.0)
    if token == llm.token_eos():
        break
    out.append(token)
    llm.eval([token])
info = llama_cpp.llama_print_system_info()
print(json.dumps({
    "module": llama_cpp.__file__,
    "prompt_tokens": len(tokens),
    "prompt_tokens_per_s": round(len(tokens) / prompt_s, 1),
    "continuation": llm.detokenize(out).decode(errors="replace"),
    "system_info": (info.decode() if isinstance(info, bytes) else str(info)).strip(),
}))
llm.close()
"""


def _tail(text: str) -> str:
    """The last line of a child's stderr (the exception or the crash message), for a one-line report."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f": {lines[-1][-300:]}" if lines else ""


@dataclass
class SmokeResult:
    passed: bool
    detail: str
    figures: dict[str, Any]


def run_smoke(
    python: Path, model: Path, pythonpath: Path | None = None, timeout: float = SMOKE_TIMEOUT_S
) -> SmokeResult:
    """Run SMOKE_CODE in a child `python`; a signal, an error, a timeout or a wrong continuation is a failure."""
    env = dict(os.environ)
    if pythonpath is not None:  # a wheel unpacked there, ahead of whatever the interpreter has installed
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            [str(python), "-c", SMOKE_CODE, str(model), str(SMOKE_COUNT_TO)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=tempfile.gettempdir(),  # not the repository: nothing of it may shadow the installed package
            check=False,
        )
    except subprocess.TimeoutExpired:
        return SmokeResult(False, f"no answer within {timeout:.0f} s", {})
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return SmokeResult(False, f"crashed with {name}{_tail(proc.stderr)}", {})
    if proc.returncode != 0:
        return SmokeResult(False, f"exit {proc.returncode}{_tail(proc.stderr)}", {})
    try:
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return SmokeResult(False, f"no result line in its output: {proc.stdout[-300:]!r}", {})
    if pythonpath is not None and not str(figures.get("module", "")).startswith(str(pythonpath)):
        return SmokeResult(False, f"imported llama_cpp from {figures.get('module')}, not the wheel under test", figures)
    expected = str(SMOKE_COUNT_TO + 1)
    if not str(figures.get("continuation", "")).strip().startswith(expected):
        return SmokeResult(False, f"the model continued the count with {figures.get('continuation')!r}", figures)
    detail = (
        f"{figures['prompt_tokens']}-token prompt at {figures['prompt_tokens_per_s']} tok/s, continued with {expected}"
    )
    return SmokeResult(True, detail, figures)


def default_model(cache_dir: Path) -> Path:
    return cache_dir / "models" / QWEN_15B.target


def model_hash(model: Path) -> str:
    """The pinned SHA-256 of an embedded model (`rag models fetch` has checked the file against it), else hashed."""
    for spec in MODELS.values():
        if spec.target == model.name and "" in spec.hashes:
            return spec.hashes[""]
    return sha256_file(model)


def smoke_stamp(folder: Path, wheel_sha: str, model_sha: str) -> Path:
    return folder / f"smoke-{wheel_sha[:16]}-{model_sha[:16]}.json"


def smoke(target: Path, model: Path, use_stamp: bool = True, report: Report = say) -> SmokeResult:
    """Smoke-test a venv's installed build or a wheel file; a venv's result is stamped by wheel and model hash."""
    if target.suffix == ".whl":
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(target) as zf:
                zf.extractall(tmp)
            result = run_smoke(Path(sys.executable), model, pythonpath=Path(tmp))
        build = read_json(target.parent / "build.json")
        stamp = smoke_stamp(target.parent, sha256_file(target), model_hash(model)) if build else None
    else:
        build = read_json(installed_record(target))
        stamp = None
        wheel = Path(str((build or {}).get("wheel_path")))
        # Stamp only a venv whose installed libraries are the recorded wheel's: the stamp is keyed by that wheel.
        if build and wheel.is_file() and installed_lib_hashes(target, str(build["version"])) == wheel_lib_hashes(wheel):
            stamp = smoke_stamp(wheel.parent, str(build["sha256"]), model_hash(model))
        if use_stamp and stamp is not None:
            previous = read_json(stamp)
            if previous and previous.get("passed"):
                return SmokeResult(True, f"passed before ({stamp})", previous.get("figures") or {})
        result = run_smoke(venv_python(target), model)
    label = LABELS.get(str((build or {}).get("flavour")), "installed")
    if use_stamp and stamp is not None:
        write_json(stamp, {"passed": result.passed, "detail": result.detail, "figures": result.figures, "at": now()})
    report(f"llama.cpp: {label} build {'passed' if result.passed else 'FAILED'} its smoke test: {result.detail}")
    return result


# -- command line ---------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $RAG_CACHE_DIR or ~/.cache/newsrag")
    parser.add_argument("--cpuinfo", type=Path, default=Path("/proc/cpuinfo"), help="read CPU flags from this file")
    parser.add_argument("--llama-version", help="default: the pin in constraints.txt")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("flavour", help="print the flavour this CPU gets, its CMAKE_ARGS and the CPU flags it needs")
    p.add_argument("--flavour", default="auto", choices=("auto", *FLAVOURS))
    p = sub.add_parser("choose", help="print the path of the wheel to install, building it if missing")
    p.add_argument("--flavour", default="auto", choices=("auto", *FLAVOURS))
    p.add_argument("--model", type=Path, help="the model whose smoke-test failures count (default: the embedded one)")
    p = sub.add_parser("adopt", help="record an existing wheel as this CPU's build of a flavour (copies it)")
    p.add_argument("wheel", type=Path)
    p.add_argument("--flavour", required=True, choices=FLAVOURS, help="the flavour it was built as, CMAKE_ARGS exact")
    p = sub.add_parser("install", help="install a wheel from `choose` into a venv unless it is already installed")
    p.add_argument("wheel", type=Path)
    p.add_argument("--venv", type=Path, default=ROOT / ".venv")
    p = sub.add_parser("smoke", help="load the model and evaluate a ~200-token prompt in a child process")
    p.add_argument("target", type=Path, nargs="?", default=Path(sys.prefix), help="a venv or a .whl (default: this)")
    p.add_argument("--model", type=Path, help="default: the embedded Qwen2.5 1.5B GGUF in the cache")
    p.add_argument("--no-stamp", action="store_true", help="run even if it passed before, and record nothing")
    args = parser.parse_args(argv)

    cache_dir = args.cache_dir or default_cache_dir()
    cpu = read_cpu_flags(args.cpuinfo)
    try:
        cache = Cache(cache_dir / "wheels", args.llama_version or pinned_version())
        if args.command == "flavour":
            flavour = flavour_for(cpu, args.flavour)
            print(f"flavour: {flavour.name}\nCMAKE_ARGS={flavour.cmake_args}\nneeds: {' '.join(flavour.required)}")
            print(f"cache: {cache.folder(flavour)}")
        elif args.command == "choose":
            model = args.model or default_model(cache_dir)
            model_sha = model_hash(model) if model.is_file() or args.model is None else None
            command = shlex.split(os.environ[BUILD_CMD_ENV]) if os.environ.get(BUILD_CMD_ENV) else None
            print(choose(cache, cpu, args.flavour, model_sha, command))
        elif args.command == "adopt":
            flavour = flavour_for(cpu, args.flavour)
            print(cache.record(flavour, args.wheel, source=f"adopted from {args.wheel.resolve()}"))
        elif args.command == "install":
            install(args.venv.absolute(), args.wheel.absolute(), cpu)
        elif args.command == "smoke":
            # Exit 2, not 1, when there is nothing to test: setup falls back to the portable build only on 1.
            model, target = (args.model or default_model(cache_dir)).absolute(), args.target.absolute()
            if not model.is_file():
                say(f"llama.cpp smoke test: no model at {model}; run `rag models fetch` first")
                return 2
            if target.suffix != ".whl" and not venv_python(target).is_file():
                say(f"llama.cpp smoke test: {target} is neither a wheel nor a venv with bin/python")
                return 2
            return 0 if smoke(target, model, use_stamp=not args.no_stamp).passed else 1
    except WheelError as exc:
        say(f"llama.cpp: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
