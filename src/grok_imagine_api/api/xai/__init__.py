"""xAI's video REST API: its request bodies and answers. Its paths are shared with the other dialects
(see api/shared.py), so this package holds no routes of its own."""
