"""The HTTP face of anyplace: pages, the /api/v1 API, health and metrics."""
