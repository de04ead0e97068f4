"""Development-only tooling: local servers, the local stack runner and the pytest fixtures.

Never installed in a production image (deploy/Containerfile installs the services' packages only).
"""
