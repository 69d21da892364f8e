"""The local agent: a per-user socket through which local programs ask for HEM tokens.

``protocol`` (the versioned JSON messages, docs/agent.md), ``server`` (runs in the app),
``ratelimit``; the client is ``authenticator.core.agent_client``.
"""
