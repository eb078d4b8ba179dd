"""Turning a live service or an ecspresso project into deployer.yaml and templates; who owns a service."""
