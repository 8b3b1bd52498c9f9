"""The portal's view of the catalog: one person's apps, grouped, searched, starred and recent.

A person with every app (250) is the case to be fast for: three queries (apps
with their categories, favourites, recent launches) and the filtering in
memory, where matching Danish and English names, keywords and the category
costs microseconds.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from anyplace.catalog.queries import entitled_app_ids
from anyplace.clock import Clock
from anyplace.errors import NotFound
from anyplace.store.models import App, Category, Favourite, Launch, User

__all__ = [
    "AppCard",
    "Catalog",
    "CategoryGroup",
    "matches",
    "toggle_favourite",
    "user_catalog",
]

RECENT_COUNT = 6


@dataclass(frozen=True)
class AppCard:
    slug: str
    name: str
    description: str
    category: str
    icon: str
    kind: str
    url: str | None
    favourite: bool
    search_text: str


@dataclass(frozen=True)
class CategoryGroup:
    slug: str
    name: str
    apps: list[AppCard]


@dataclass(frozen=True)
class Catalog:
    groups: list[CategoryGroup]
    favourites: list[AppCard]
    recent: list[AppCard]
    total: int


def _fold(text: str) -> str:
    """Lower case without accents, so "oko" finds "Økonomi" and "lon" finds "Løn"."""
    text = text.lower().replace("ø", "o").replace("æ", "ae").replace("å", "a")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def matches(card: AppCard, query: str) -> bool:
    """Every word of the query appears in the app's names, keywords or category."""
    return all(word in card.search_text for word in _fold(query).split())


def user_catalog(db: Session, user: User, *, locale: str, query: str = "") -> Catalog:
    apps = db.scalars(
        select(App)
        .join(Category)
        .where(App.enabled.is_(True), App.id.in_(entitled_app_ids(user.id)))
        .options(joinedload(App.category))
        .order_by(Category.sort_order, App.name_da, App.id)
    ).all()
    starred = set(db.scalars(select(Favourite.app_id).where(Favourite.user_id == user.id)))
    english = locale == "en"
    cards: dict[int, AppCard] = {}
    for app in apps:
        category = app.category.name_en if english else app.category.name_da
        name = app.name_en if english else app.name_da
        text = " ".join([app.name_da, app.name_en, category, *app.keywords, app.slug])
        cards[app.id] = AppCard(
            slug=app.slug,
            name=name,
            description=(app.description_en if english else app.description_da) or "",
            category=category,
            icon=app.icon or "app",
            kind=app.kind.value,
            url=app.url,
            favourite=app.id in starred,
            search_text=_fold(text + " " + app.category.name_en + " " + app.category.name_da),
        )
    shown = [(app, cards[app.id]) for app in apps if not query or matches(cards[app.id], query)]
    groups: list[CategoryGroup] = []
    for app, card in shown:
        if not groups or groups[-1].slug != app.category.slug:
            groups.append(CategoryGroup(app.category.slug, card.category, []))
        groups[-1].apps.append(card)
    favourites = sorted((cards[i] for i in starred if i in cards), key=lambda c: c.name)
    return Catalog(groups, favourites, _recent(db, user, cards), len(shown))


def _recent(db: Session, user: User, cards: dict[int, AppCard]) -> list[AppCard]:
    rows = db.execute(
        select(Launch.app_id, func.max(Launch.created_at).label("last"))
        .where(Launch.user_id == user.id)
        .group_by(Launch.app_id)
        .order_by(func.max(Launch.created_at).desc())
        .limit(RECENT_COUNT * 2)
    ).all()
    recent = [cards[row.app_id] for row in rows if row.app_id in cards]
    return recent[:RECENT_COUNT]


def toggle_favourite(db: Session, clock: Clock, user: User, slug: str) -> bool:
    """Star or unstar an app the user may use; returns whether it is now a favourite."""
    app_id = db.scalar(
        select(App.id).where(App.slug == slug, App.id.in_(entitled_app_ids(user.id)))
    )
    if app_id is None:
        raise NotFound(f"no app {slug!r}")
    existing = db.get(Favourite, (user.id, app_id))
    if existing is not None:
        db.execute(
            delete(Favourite).where(Favourite.user_id == user.id, Favourite.app_id == app_id)
        )
        return False
    db.add(Favourite(user_id=user.id, app_id=app_id, created_at=clock.now()))
    db.flush()
    return True
