"""Signed webhooks when jobs end (docs/webhooks.md): events, signing, endpoints, the retry schedule and the
delivery loop. The outbox rows are in store/outbox*.py."""
