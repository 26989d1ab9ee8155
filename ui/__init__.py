"""The browser chat (Gradio): `ui.app.launch(settings)` serves it."""
