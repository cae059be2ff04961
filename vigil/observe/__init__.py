"""What vigil watches while it acts: probe streams, resource samples, metrics scrapes."""
