"""The server-rendered pages: sign-in, the portal and the admin console (Jinja2 + htmx)."""

from __future__ import annotations

from fastapi import APIRouter

from anyplace.web.pages import admin_directory, admin_estate, microapps, portal, signin
from anyplace.web.pages.rendering import STATIC_DIR

__all__ = ["STATIC_DIR", "router"]

router = APIRouter(include_in_schema=False)
for module in (signin, portal, microapps, admin_estate, admin_directory):
    router.include_router(module.router)
