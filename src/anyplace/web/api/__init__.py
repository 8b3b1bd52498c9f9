"""The versioned JSON API under /api/v1."""

from fastapi import APIRouter

from anyplace.web.api import catalog, pools, sessions

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
router.include_router(catalog.router)
router.include_router(pools.router)
router.include_router(sessions.router)
