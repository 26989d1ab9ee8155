"""Process-wide switches that keep the app off the network unless a user points it at a server."""

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


def enforce_offline() -> None:
    """Set before heavy imports; a user's explicit value wins (e.g. HF_HUB_OFFLINE=0 for hub models)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
