"""scripts/llama_wheel.py: CPU flags -> CMAKE_ARGS, the per-flavour wheel cache and its CPU check, the fallback to the
portable build when a build or the smoke test fails (with fake builds and fake interpreters: nothing is compiled),
and one real smoke test of the installed build with the real model."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
import zipfile
from base64 import urlsafe_b64encode
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "llama_wheel.py"
_spec = importlib.util.spec_from_file_location("llama_wheel", SCRIPT)
assert _spec and _spec.loader
lw = importlib.util.module_from_spec(_spec)
sys.modules["llama_wheel"] = lw  # dataclasses look their module up by name
_spec.loader.exec_module(lw)

VERSION = "0.3.36"
BASELINE = {"sse3", "ssse3", "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"}
# The AVX-512 part of this machine's /proc/cpuinfo (it also has AMX, which must never be asked for).
AVX512_FULL = BASELINE | {
    "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512_vnni", "avx512vbmi", "avx512_bf16",
    "avx_vnni", "avx512ifma", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16",
}  # fmt: skip
MEASURED_ARGS = (
    "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_VBMI=ON "
    "-DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON"
)
MODEL_SHA = "ab" * 32


# -- flags -> CMAKE_ARGS -------------------------------------------------------------------------
def test_cpuinfo_flags_are_read_from_the_first_flags_line():
    text = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f\nbugs\t\t: spectre\n"
    text += "processor\t: 1\nflags\t\t: fpu\n"
    assert lw.cpu_flags(text) == {"fpu", "avx2", "avx512f"}
    assert lw.cpu_flags("Features\t: neon asimd\n") == frozenset()  # arm: no x86 flags, the portable build


def test_a_cpu_with_every_extension_gets_the_measured_avx512_args_and_never_amx_or_native():
    flavour = lw.flavour_for(AVX512_FULL)
    assert flavour.name == "avx512"
    assert flavour.cmake_args == MEASURED_ARGS
    assert "AMX" not in flavour.cmake_args and "GGML_NATIVE=ON" not in flavour.cmake_args
    assert set(flavour.required) == {
        "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw",
        "avx512_vnni", "avx512vbmi", "avx512_bf16", "avx_vnni",
    }  # fmt: skip


def test_an_avx512_cpu_without_bf16_or_avx_vnni_gets_only_the_options_it_has():
    flavour = lw.flavour_for(AVX512_FULL - {"avx512_bf16", "avx_vnni"})
    assert flavour.name == "avx512"
    assert "-DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_VBMI=ON" in flavour.cmake_args
    assert "BF16" not in flavour.cmake_args and "AVX_VNNI" not in flavour.cmake_args
    assert "avx512_bf16" not in flavour.required and "avx_vnni" not in flavour.required
    assert flavour.key(VERSION) != lw.flavour_for(AVX512_FULL).key(VERSION)  # another build, another folder


def test_without_the_avx512_base_the_cpu_gets_the_portable_build():
    no_bw = AVX512_FULL - {"avx512bw"}  # GGML_AVX512 compiles with -mavx512bw too
    assert lw.flavour_for(no_bw).name == "portable"
    assert lw.flavour_for(no_bw).cmake_args == "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF"
    with pytest.raises(lw.WheelError, match="avx512bw"):
        lw.flavour_for(no_bw, "avx512")
    assert lw.flavour_for(AVX512_FULL, "portable").required == ("avx", "avx2", "bmi2", "f16c", "fma")


def test_a_cpu_without_avx2_gets_it_switched_off_rather_than_a_build_it_cannot_run():
    flavour = lw.flavour_for(BASELINE - {"avx2", "bmi2"})
    assert flavour.cmake_args == "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=OFF -DGGML_BMI2=OFF"
    assert "avx2" not in flavour.required


def test_the_cache_key_covers_version_and_args():
    flavour = lw.flavour_for(AVX512_FULL)
    assert flavour.key(VERSION).startswith("avx512-") and flavour.key(VERSION) != flavour.key("0.3.37")


def test_builds_bypass_the_pip_wheel_cache_which_ignores_cmake_args():
    cmd = lw.build_command(VERSION)
    assert cmd[1:4] == ["-m", "pip", "wheel"] and "--no-cache-dir" in cmd and "--no-deps" in cmd
    assert f"llama-cpp-python=={VERSION}" in cmd and cmd[-1] == "-w"


def test_the_version_is_the_pin_in_constraints():
    assert lw.pinned_version() == VERSION


# -- fakes: wheels, a build command, a venv ----------------------------------------------------
def make_wheel(folder: Path, payload: str) -> Path:
    """A wheel-shaped zip whose compiled library is `payload` and whose RECORD hashes it like pip does."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"llama_cpp_python-{VERSION}-py3-none-linux_x86_64.whl"
    lib = payload.encode()
    digest = urlsafe_b64encode(hashlib.sha256(lib).digest()).rstrip(b"=").decode()
    record = f"llama_cpp/lib/libggml-cpu.so,sha256={digest},{len(lib)}\nllama_cpp/__init__.py,,\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("llama_cpp/lib/libggml-cpu.so", lib)
        zf.writestr(f"llama_cpp_python-{VERSION}.dist-info/RECORD", record)
    return wheel


FAKE_BUILD = """
import os, sys
from pathlib import Path
args = os.environ["CMAKE_ARGS"]
with open({log!r}, "a") as log:
    log.write(args + "\\n")
if "AVX512" in args and os.environ.get("FAKE_FAIL_AVX512"):
    sys.exit("error: compiler exploded")
sys.path.insert(0, {tests!r})
from test_llama_wheel import make_wheel  # the same fake wheel the tests make
make_wheel(Path(sys.argv[-1]), args)
"""


@pytest.fixture
def fake_build(tmp_path: Path) -> tuple[list[str], Path]:
    """A build command that records each CMAKE_ARGS and makes a fake wheel (or fails for AVX-512 on request)."""
    log = tmp_path / "builds.log"
    script = tmp_path / "fake_build.py"
    script.write_text(FAKE_BUILD.format(tests=str(Path(__file__).parent), log=str(log)), encoding="utf-8")
    return [sys.executable, str(script)], log


def builds(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


FAKE_PYTHON = """#!{python}
# `python -m pip install ... WHEEL`: put the wheel's RECORD where pip would and note which cache folder it came from.
# `python -c CODE MODEL COUNT` (the smoke test): crash with SIGSEGV when the venv holds a build named in ./crash.
import json, os, signal, sys, zipfile
from pathlib import Path
venv = Path(__file__).resolve().parent.parent
with open(venv / "calls.log", "a") as log:
    log.write(" ".join(sys.argv[1:3]) + "\\n")
if sys.argv[1:3] == ["-m", "pip"]:
    wheel = Path(sys.argv[-1])
    dist = venv / "lib" / "python3.11" / "site-packages" / "llama_cpp_python-{version}.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        (dist / "RECORD").write_bytes(zf.read("llama_cpp_python-{version}.dist-info/RECORD"))
    (venv / "installed.txt").write_text(wheel.parent.name)
    sys.exit(0)
installed = (venv / "installed.txt").read_text()
crash = (venv / "crash").read_text() if (venv / "crash").exists() else "nothing"
if installed.startswith(crash):
    os.kill(os.getpid(), signal.SIGSEGV)
print(json.dumps({{"module": "x", "prompt_tokens": 246, "prompt_tokens_per_s": 50.0, "continuation": " 65, 6"}}))
"""


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON.format(python=sys.executable, version=VERSION), encoding="utf-8")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return venv


def calls(venv: Path) -> list[str]:
    path = venv / "calls.log"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def cache(tmp_path: Path) -> lw.Cache:
    return lw.Cache(tmp_path / "cache" / "wheels", VERSION)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF fake")
    return path


# -- the cache and its CPU check ------------------------------------------------------------------
def test_a_built_wheel_is_recorded_with_version_args_and_required_flags(cache, fake_build):
    command, log = fake_build
    cpu = frozenset(AVX512_FULL)
    wheel = lw.choose(cache, cpu, command=command)
    flavour = lw.flavour_for(cpu)
    assert wheel.parent == cache.root / flavour.key(VERSION) and builds(log) == [MEASURED_ARGS]
    build = json.loads((wheel.parent / "build.json").read_text())
    assert build["version"] == VERSION and build["cmake_args"] == MEASURED_ARGS and build["flavour"] == "avx512"
    assert build["requires_cpu_flags"] == list(flavour.required) and build["sha256"] == lw.sha256_file(wheel)
    assert lw.choose(cache, cpu, command=command) == wheel and len(builds(log)) == 1  # reused, not rebuilt


def test_the_cache_refuses_a_wheel_whose_recorded_flags_the_cpu_lacks(cache, fake_build, fake_venv, capsys):
    command, log = fake_build
    cpu = frozenset(AVX512_FULL)
    wheel = lw.choose(cache, cpu, command=command)
    # A cache copied from a machine whose record asks for more (here: AMX) than this CPU has.
    record = wheel.parent / "build.json"
    build = json.loads(record.read_text())
    record.write_text(json.dumps({**build, "requires_cpu_flags": [*build["requires_cpu_flags"], "amx_fp16"]}))
    flavour = lw.flavour_for(cpu)
    with pytest.raises(lw.FlavourUnusable, match="lacks: amx_fp16"):
        cache.wheel(flavour, cpu)
    with pytest.raises(lw.FlavourUnusable, match="lacks: amx_fp16"):
        lw.install(fake_venv, wheel, cpu, report=lambda _: None)
    assert calls(fake_venv) == []  # pip never ran
    # choose falls back to the portable build and says why.
    portable = lw.choose(cache, cpu, command=command)
    assert portable.parent.name.startswith("portable-") and builds(log)[-1] == "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF"
    err = capsys.readouterr().err
    assert "AVX-512 build needs CPU flags this machine lacks: amx_fp16; using the portable build" in err


def test_the_old_single_wheel_is_moved_into_the_portable_folder_not_rebuilt(cache, fake_build):
    command, log = fake_build
    legacy = make_wheel(cache.wheels, "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF")
    cpu = frozenset(BASELINE)
    wheel = lw.choose(cache, cpu, command=command)
    assert not legacy.exists() and wheel.parent.name.startswith("portable-") and builds(log) == []
    assert json.loads((wheel.parent / "build.json").read_text())["source"].startswith("adopted from")


# -- the fallback -----------------------------------------------------------------------------------
def test_a_failed_avx512_build_falls_back_to_portable_and_is_not_retried(cache, fake_build, capsys, monkeypatch):
    command, log = fake_build
    monkeypatch.setenv("FAKE_FAIL_AVX512", "1")
    cpu = frozenset(AVX512_FULL)
    wheel = lw.choose(cache, cpu, command=command)
    assert wheel.parent.name.startswith("portable-")
    assert builds(log) == [MEASURED_ARGS, "-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF"]
    err = capsys.readouterr().err
    assert "llama.cpp: AVX-512 build failed to compile; using the portable build" in err
    assert "compiler exploded" in (cache.folder(lw.flavour_for(cpu)) / "build.log").read_text()
    assert lw.choose(cache, cpu, command=command) == wheel and len(builds(log)) == 2  # no second 11-minute try
    assert "AVX-512 build failed to compile; using the portable build" in capsys.readouterr().err


def test_a_failed_portable_build_is_an_error(cache, fake_build):
    command, _ = fake_build
    with pytest.raises(lw.FlavourUnusable, match="portable build failed to compile"):
        lw.choose(cache, frozenset(BASELINE), command=[sys.executable, "-c", "raise SystemExit(1)"])


def test_a_crashing_avx512_build_falls_back_to_portable_like_setup_does(cache, fake_build, fake_venv, model, capsys):
    """setup.sh: choose, install, smoke; on failure choose again, install, smoke."""
    command, _ = fake_build
    cpu, sha = frozenset(AVX512_FULL), lw.model_hash(model)
    (fake_venv / "crash").write_text("avx512-")

    wheel = lw.choose(cache, cpu, model_sha=sha, command=command)
    assert lw.install(fake_venv, wheel, cpu) is True
    assert json.loads((fake_venv / ".llama-build.json").read_text())["flavour"] == "avx512"
    assert lw.install(fake_venv, wheel, cpu) is False  # already the installed build: pip is not run again
    assert calls(fake_venv) == ["-m pip"]
    result = lw.smoke(fake_venv, model)
    assert not result.passed and result.detail.startswith("crashed with SIGSEGV")
    assert "llama.cpp: AVX-512 build FAILED its smoke test: crashed with SIGSEGV" in capsys.readouterr().err

    portable = lw.choose(cache, cpu, model_sha=sha, command=command)
    assert portable.parent.name.startswith("portable-")
    assert "llama.cpp: AVX-512 build failed its smoke test; using the portable build" in capsys.readouterr().err
    assert lw.install(fake_venv, portable, cpu) is True  # pip would call the installed 0.3.36 satisfied: forced
    assert json.loads((fake_venv / ".llama-build.json").read_text())["flavour"] == "portable"
    assert lw.smoke(fake_venv, model).passed

    before = len(calls(fake_venv))
    (fake_venv / "crash").write_text("portable-")  # a re-run would fail now: the stamp must answer instead
    assert lw.smoke(fake_venv, model).passed and len(calls(fake_venv)) == before
    assert lw.choose(cache, cpu, model_sha="cd" * 32, command=command) == wheel  # another model: AVX-512 again


def test_pip_is_forced_to_reinstall_only_the_llama_wheel(cache, fake_build, fake_venv, monkeypatch):
    command, _ = fake_build
    seen: list[list[str]] = []
    real_run = subprocess.run

    def spy(cmd, *args, **kwargs):
        seen.append(list(cmd))
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(lw.subprocess, "run", spy)
    wheel = lw.choose(cache, frozenset(BASELINE), command=command)
    lw.install(fake_venv, wheel, frozenset(BASELINE), report=lambda _: None)
    pip = seen[-1]
    assert pip[1:4] == ["-m", "pip", "install"] and "--force-reinstall" in pip and "--no-deps" in pip
    assert pip[-1] == str(wheel)


def test_the_smoke_test_fails_on_an_error_or_a_wrong_answer(tmp_path, model):
    python = tmp_path / "python"
    python.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('ImportError: libggml-cpu.so')\n")
    python.chmod(0o755)
    result = lw.run_smoke(python, model)
    assert not result.passed and result.detail == "exit 1: ImportError: libggml-cpu.so"
    python.write_text(f'#!{sys.executable}\nprint(\'{{"prompt_tokens": 246, "continuation": " 12, 13"}}\')\n')
    result = lw.run_smoke(python, model)
    assert not result.passed and "continued the count with ' 12, 13'" in result.detail


def test_choose_on_the_command_line_prints_only_the_wheel_path(tmp_path, fake_build):
    command, _ = fake_build
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: " + " ".join(sorted(AVX512_FULL)) + "\n")
    env = dict(os.environ, LLAMA_WHEEL_BUILD_CMD=" ".join(command), FAKE_FAIL_AVX512="1")
    args = ["--cache-dir", str(tmp_path / "c"), "--cpuinfo", str(cpuinfo), "choose"]
    result = subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.is_file() and path.parent.name.startswith("portable-") and "\n" not in result.stdout.strip()
    assert "AVX-512 build failed to compile; using the portable build" in result.stderr


def test_help_and_flavour_on_the_command_line():
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "choose" in result.stdout and "smoke" in result.stdout
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "flavour", "--flavour", "portable"], capture_output=True, text=True, check=True
    )
    assert "CMAKE_ARGS=-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF\n" in result.stdout


# -- the real build ----------------------------------------------------------------------------------
REAL_MODEL = lw.default_model(lw.default_cache_dir())
RECORD = Path(sys.prefix) / ".llama-build.json"


@pytest.mark.skipif(not RECORD.is_file(), reason="this venv was not set up by scripts/setup.sh")
def test_the_venv_holds_the_recorded_build():
    build = json.loads(RECORD.read_text())
    wheel = Path(build["wheel_path"])
    assert lw.installed_lib_hashes(Path(sys.prefix), build["version"]) == lw.wheel_lib_hashes(wheel)
    lw.check_build(build, lw.read_cpu_flags(), wheel.parent)


@pytest.mark.model
@pytest.mark.skipif(not REAL_MODEL.is_file(), reason=f"no model at {REAL_MODEL}")
def test_the_installed_build_passes_the_real_smoke_test():
    result = lw.run_smoke(Path(sys.executable), REAL_MODEL)
    assert result.passed, result.detail
    assert result.figures["prompt_tokens"] >= 200 and result.figures["prompt_tokens_per_s"] > 0
    assert Path(result.figures["module"]).is_relative_to(Path(sys.prefix))
    if RECORD.is_file() and json.loads(RECORD.read_text())["flavour"] == "avx512":
        assert "AVX512 = 1" in result.figures["system_info"]
