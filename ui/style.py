"""The chat's style sheet: the classes ui.render writes."""

CSS = """
#chat-log { min-height: 420px; }
.chat-log { display: flex; flex-direction: column; gap: 10px; padding: 4px; }
.chat-log.empty .placeholder { color: var(--body-text-color-subdued); padding: 24px; text-align: center; }
.msg { display: flex; }
.msg.user { justify-content: flex-end; }
.msg .bubble { max-width: 92%; border-radius: 10px; padding: 8px 12px; line-height: 1.5; }
.msg.user .bubble { background: var(--color-accent-soft); }
.msg.bot .bubble { background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.msg .bubble p { margin: 0 0 6px 0; }
.msg .bubble p:last-child { margin-bottom: 0; }
a.cite { font-weight: 600; text-decoration: none; color: var(--color-accent); cursor: pointer; padding: 0 1px; }
a.cite:hover, a.cite.active { text-decoration: underline; background: var(--color-accent-soft); border-radius: 3px; }
.cite-pending { color: var(--body-text-color-subdued); }
.unsupported { text-decoration: underline dotted #b7791f; }
.unsupported-label, .searched { font-size: 0.8em; color: #b7791f; }
.cursor { animation: blink 1s steps(1) infinite; }
@keyframes blink { 50% { opacity: 0; } }
.status-line { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 4px; font-style: italic; }
.msg.preview .answer { opacity: 0.75; }
.answer.refusal { border-left: 4px solid #b7791f; background: rgba(183, 121, 31, 0.10); padding: 6px 10px;
  border-radius: 4px; font-style: italic; }
.verdict { display: inline-block; font-weight: 700; padding: 0 0.5em; border-radius: 4px; margin-bottom: 0.3em; }
.verdict.yes { background: #c6f6d5; color: #22543d; }
.verdict.no { background: #fed7d7; color: #742a2a; }
ul.items { margin: 0.2em 0 0.5em 1.2em; }
ul.items .part { display: block; font-size: 0.85em; opacity: 0.75; }
.refusal-label { display: block; font-style: normal; font-weight: 600; font-size: 0.8em; color: #b7791f;
  text-transform: uppercase; letter-spacing: 0.03em; margin-bottom: 2px; }
ul.sources { margin: 6px 0 0 0; padding-left: 18px; font-size: 0.88em; }
.src-meta { color: var(--body-text-color-subdued); }
details.uncited, details.retrieval { margin-top: 6px; font-size: 0.85em; }
details.uncited summary, details.retrieval summary { cursor: pointer; color: var(--body-text-color-subdued); }
details.uncited li { margin: 4px 0; }
.un-head { font-weight: 600; }
details.retrieval table { border-collapse: collapse; }
details.retrieval th { text-align: left; padding-right: 8px; vertical-align: top; white-space: nowrap; }
.note { padding: 6px 10px; border-radius: 6px; margin: 4px 0; }
.note.warn { background: rgba(214, 158, 46, 0.15); border-left: 4px solid #d69e2e; }
.note.error { background: rgba(229, 62, 62, 0.12); border-left: 4px solid #e53e3e; }
.note.ok { background: rgba(56, 161, 105, 0.12); border-left: 4px solid #38a169; }
.note.info { background: var(--background-fill-secondary); }
.note.doubt { background: rgba(214, 158, 46, 0.10); border-left: 4px dashed #d69e2e; font-style: italic; }
.answer.uncertain { opacity: 0.9; }
.evidence { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; }
.evidence.empty { color: var(--body-text-color-subdued); }
.ev-label { font-size: 0.8em; text-transform: uppercase; color: var(--body-text-color-subdued); }
.ev-title { font-weight: 700; margin: 2px 0; }
.ev-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.ev-source { font-size: 0.85em; margin: -4px 0 6px 0; overflow-wrap: anywhere; }
.ev-passage mark, .doc-text mark { background: #fde68a; color: #111; padding: 0 1px; }
.doc-preview { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; }
"""
