"""EstateDesk workflow service."""
