"""EstateDesk gateway: the Flask HTTP API. Owns tenants, users and roles; everything else is an RPC call.

Kept free of imports so ``python -m gateway serve`` can monkey-patch eventlet before anything else loads.
"""
