"""The keys of a `rag eval --compare NAME:key=value` configuration; a module without imports, so that the
CLI's help names them all without loading the evaluation."""

# Config-spec keys -> rag.toml keys of the settings, answer.<name> in the [answer] table ("pipeline" is the runner's).
SPEC_KEYS = {
    "llm": "llm_backend",
    "model": "llm_model",
    "base_url": "llm_base_url",
    "top_k": "top_k",
    "context_budget": "answer.context_budget_tokens",
    "format": "answer.answer_format",
    "yesno": "answer.yesno_verdict",
    "yesno_threshold": "answer.yesno_threshold",
    "lead": "answer.lead_chunk",
    "statement": "answer.statement_hint",
    "quote": "answer.quote_across_languages",
    "quote_by_question": "answer.quote_by_question",
    "follow_up": "answer.follow_up_search",
    "windows": "answer.focus_windows",
    "list_windows": "answer.list_windows",
    "list_passages": "answer.list_passages",
    "samples": "answer.consistency_samples",
    "neighbours": "answer.focus_neighbours",
    "chunk_states_mb": "chunk_states_mb",
    "numbers": "answer.refuse_unsupported_numbers",
    "question_numbers": "answer.refuse_unheld_question_numbers",
    "parts": "answer.split_two_part_questions",
    "pipeline": "pipeline",
}
