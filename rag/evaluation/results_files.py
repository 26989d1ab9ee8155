"""A configuration's folder in an evaluation run: its results.jsonl (one record per question, appended as each
finishes) and its config.json (what the records depend on; a resumed run must match it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.evaluation.errors import EvalUsageError

RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"


def results_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / name / RESULTS_FILE


def load_results(path: Path) -> dict[str, dict[str, Any]]:
    """Records already written, by id (the last one wins). A torn last line (a killed run) is cut off."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        path.write_bytes(data)
    records: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalUsageError(f"{path} line {number} is not a result record ({exc.msg}); use --restart") from None
        if isinstance(record, dict) and "id" in record:
            records[str(record["id"])] = record
    return records


def prepare_folder(folder: Path, expected: Mapping[str, Any], restart: bool) -> None:
    """Create the configuration's folder; refuse to resume results made with other settings."""
    folder.mkdir(parents=True, exist_ok=True)
    config_file, results = folder / CONFIG_FILE, folder / RESULTS_FILE
    if restart:
        results.unlink(missing_ok=True)
    elif results.exists() and config_file.exists():
        try:
            found = json.loads(config_file.read_text(encoding="utf-8"))
        except ValueError:
            found = {}
        changed = [
            f"{key}: {found.get(key)!r} -> {expected.get(key)!r}"
            for key in sorted(set(found) | set(expected))
            if found.get(key) != expected.get(key)
        ]
        if changed:
            raise EvalUsageError(
                f"{results} was made with other settings ({'; '.join(changed)}). "
                "Use --restart to discard those results, or another --out."
            )
    config_file.write_text(json.dumps(dict(expected), indent=2) + "\n", encoding="utf-8")
