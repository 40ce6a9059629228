"""Schemas of the answers that belong to no dialect: the error envelope, /jobs, monitoring and the worker
protocol. Each dialect's answers live beside it (api/seed, api/openai, api/xai `responses.py`)."""
