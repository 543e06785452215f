"""The PostgreSQL index of the multi-node store (issue 13): schema, migrations, connections.

The store areas on top of it follow the store contract (storage/contract/); only what
does not depend on it lives here so far.
"""
