"""Putting a revision into service: checks, plan, execute, watch and verdict, stages, rollback, lease, diagnosis, diff."""
