"""xAI's video REST API: its request bodies and answers. Its paths are shared with the other dialects: the create
route is the founding document's (api/seed), extensions, edits and GET /v1/videos/{id} are in api/shared.py."""
