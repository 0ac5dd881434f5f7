"""Authentication and RBAC: tenants, users, roles, tokens, API keys, audit log."""
