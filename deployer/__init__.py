"""deployer: the developers' half of an ECS (Fargate) release."""

__version__ = "0.1.0"
