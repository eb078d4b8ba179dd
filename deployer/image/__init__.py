"""The container image: Dockerfile, BuildKit and legacy builds, build secrets, registry, push."""
