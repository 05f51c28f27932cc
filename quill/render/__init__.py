"""Terminal output: the one place that writes to the terminal."""
