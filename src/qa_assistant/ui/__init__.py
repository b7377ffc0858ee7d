"""The Gradio chat UI over `Assistant.ask()`: rendering (escaped HTML/Markdown), exports and the app layout.

`render` and `export` do not import Gradio; `qa_assistant.ui.app` does.
"""
