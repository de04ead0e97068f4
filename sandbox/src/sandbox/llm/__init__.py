"""An OpenAI-compatible chat completions look-alike (the reply assistant's model in the local stack)."""
