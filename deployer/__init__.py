"""deployer: the developers' half of an ECS (Fargate) release."""

# The one place the version is written. A release commit sets it and is tagged v<version>; the build
# refuses a tagged commit whose tag says otherwise (setup.py). `deployer --version` adds the commit.
__version__ = "0.1.0"
