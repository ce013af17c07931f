"""EstateDesk shared plumbing (no domain models)."""
