"""Generate `municipality/users.yaml`: 1,600 synthetic employees of a municipality of 28,000.

Run from the repository root: ``python examples/generate_users.py``. The output is
deterministic (fixed seed), so the committed file can be regenerated and diffed.

Names are drawn from Danmarks Statistik's lists of the most common first names
and surnames; no real person is described. Headcounts per department are those
of a Danish municipality of about 28,000 citizens with 1,600 IT users (home care
and schools are the largest; IT has 17 people).
"""

from __future__ import annotations

import random
from pathlib import Path

DEPARTMENTS: dict[str, int] = {
    "borgerservice": 50,
    "jobcenter": 130,
    "social-handicap": 110,
    "hjemmepleje": 420,
    "sundhed": 100,
    "skole-dagtilbud": 420,
    "teknik-miljo": 110,
    "okonomi": 58,
    "hr-lon": 40,
    "it": 17,
    "sekretariat": 30,
    "kultur-fritid": 45,
    "ejendomme": 70,
}

FIRST_NAMES = (
    "Anne Kirsten Mette Hanne Helle Susanne Lene Marianne Camilla Louise Charlotte Maria "
    "Pia Tina Gitte Lone Julie Sofie Emma Ida Karen Birgitte Inge Rikke Line Bente Jette "
    "Peter Michael Lars Jens Thomas Henrik Søren Christian Martin Jan Morten Niels Anders "
    "Rasmus Mads Jesper Per Hans Ole Frederik Mikkel Kim Jakob Nikolaj Kasper Emil Jonas"
).split()
SURNAMES = (
    "Nielsen Jensen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Jørgensen "
    "Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller Mortensen "
    "Knudsen Jakobsen Mikkelsen Olesen Frederiksen Laursen Henriksen Lund Schmidt Eriksen "
    "Holm Kristiansen Clausen Simonsen Svendsen Andreasen Iversen Jeppesen Vestergaard Mogensen"
).split()

# Functional groups: share of a department's staff that belongs to each.
FUNCTIONAL: dict[str, dict[str, float]] = {
    "ledere": dict.fromkeys(DEPARTMENTS, 0.07),
    "sagsbehandlere": {
        "borgerservice": 1.0,
        "jobcenter": 1.0,
        "social-handicap": 1.0,
        "sundhed": 0.2,
    },
    "gis-brugere": {"teknik-miljo": 0.36, "ejendomme": 0.08},
    "legacy-brugere": {
        "okonomi": 1.0,
        "ejendomme": 1.0,
        "borgerservice": 1.0,
        "kultur-fritid": 0.25,
        "teknik-miljo": 0.1,
        "sundhed": 0.1,
        "jobcenter": 0.1,
    },
    "lonadministration": {"hr-lon": 0.4},
    "indkob": {"okonomi": 0.2, "ejendomme": 0.1, "it": 0.2},
    "it-admins": {"it": 0.5},
}

ASCII = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})


def main() -> None:
    rng = random.Random(28_000)  # noqa: S311 - reproducible synthetic names, not secrets
    usernames: set[str] = set()
    emails: set[str] = set()
    lines = [
        "# 1,600 synthetic employees (see examples/generate_users.py, which wrote this file).",
        "users:",
    ]
    for department, headcount in DEPARTMENTS.items():
        lines.append(f"  # {department}: {headcount}")
        for index in range(headcount):
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            username = _unique((first[:2] + last[:2]).lower().translate(ASCII), usernames)
            local = f"{first}.{last}".lower().translate(ASCII)
            email = _unique(local, emails, separator=".") + "@eksempel-kommune.dk"
            groups = ["alle", department]
            for group, shares in FUNCTIONAL.items():
                if index < round(shares.get(department, 0.0) * headcount):
                    groups.append(group)
            lines.append(
                f"  - {{username: {username}, name: {first} {last}, email: {email}, "
                f"department: {department}, groups: [{', '.join(groups)}]}}"
            )
    target = Path(__file__).parent / "municipality" / "users.yaml"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(usernames)} users to {target}")


def _unique(base: str, taken: set[str], separator: str = "") -> str:
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}{separator}{number}"
    taken.add(candidate)
    return candidate


if __name__ == "__main__":
    main()
