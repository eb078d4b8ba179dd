"""Benchmarks of the `deployer` CLI against the local AWS (tests/localaws): `python -m bench`."""
