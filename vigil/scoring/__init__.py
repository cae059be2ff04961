"""Scores that compare what a target did with the truth vigil made."""
