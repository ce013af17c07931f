"""EstateDesk reporting: per-tenant read models built from other services' events."""
