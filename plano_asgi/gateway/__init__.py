"""The model gateway: one OpenAI-compatible endpoint in front of every provider."""
