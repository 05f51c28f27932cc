"""The chat: a conversation kept in the store (session.py), streamed to the terminal
(stream.py), in a prompt-toolkit REPL with slash commands (repl.py, commands.py)."""
