"""What vigil watches while it acts on a target (resource samples, and more to come)."""
