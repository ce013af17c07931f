"""EstateDesk notify service: tells complainants what happens to their complaint."""
