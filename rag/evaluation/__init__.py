"""Quality and speed harness for the `rag` library: question sets, metrics, reports, the llama-index
baseline, the evaluation runner and the benchmarks. Imports `rag`, never `ui` or `cli`."""
