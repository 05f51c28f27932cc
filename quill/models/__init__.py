"""Model registry, the embedded default model and GGUF probing."""
