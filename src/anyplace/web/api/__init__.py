"""The versioned JSON API under /api/v1.

Each module's router carries the full prefix itself (rather than getting it
from an enclosing router), so every route knows its complete path template:
the metrics label requests by it. The routers are gathered in `web.app`, so
importing the schemas from here (as the CLI does) does not load FastAPI.
"""
