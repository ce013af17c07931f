"""EstateDesk intake service."""
