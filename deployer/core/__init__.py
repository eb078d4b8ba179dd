"""Errors, the console, secrets and their masking, the version: what every layer may use."""
