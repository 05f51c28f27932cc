"""The writing tasks as plain functions over an Engine; they never print."""
