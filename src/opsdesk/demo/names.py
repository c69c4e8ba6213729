"""Word lists for generated people and companies; deterministic given the random generator."""

from __future__ import annotations

import numpy as np

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Carla",
    "Dmitri",
    "Eve",
    "Farah",
    "Gabriel",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tala",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Aoife",
    "Ciaran",
    "Niamh",
    "Maria",
    "Jose",
    "Andrea",
    "Paolo",
    "Grace",
    "Liam",
    "Sofia",
    "Noah",
    "Amara",
    "Kenji",
    "Isla",
    "Ethan",
    "Mei",
    "Luis",
    "Chloe",
    "Ravi",
    "Elena",
]
LAST_NAMES = [
    "Reyes",
    "Santos",
    "Murphy",
    "Kelly",
    "Smith",
    "Johnson",
    "Garcia",
    "Nguyen",
    "Kim",
    "Patel",
    "Brown",
    "Lopez",
    "Walsh",
    "Byrne",
    "Cruz",
    "Bautista",
    "Miller",
    "Davis",
    "Chen",
    "Wilson",
    "Moore",
    "Taylor",
    "Anderson",
    "Thomas",
    "Martin",
    "Lee",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "Allen",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Ramos",
]
COMPANY_WORDS = [
    "Acme",
    "Blue",
    "Cedar",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Maple",
    "North",
    "Oak",
    "Pioneer",
    "Quarry",
    "River",
    "Summit",
    "Tidal",
    "Union",
    "Vista",
    "West",
    "Yellow",
    "Zenith",
    "Bright",
    "Coastal",
    "Golden",
    "Prairie",
    "Silver",
]
COMPANY_KINDS = [
    "Logistics",
    "Health",
    "Foods",
    "Manufacturing",
    "Schools",
    "Retail",
    "Hospitality",
    "Energy",
    "Construction",
    "Software",
    "Clinics",
    "Credit Union",
    "Transit",
    "Labs",
    "Dental",
    "Insurance",
]
COMPANY_SUFFIXES = ["Inc", "LLC", "Group", "Co", "Partners", "Ltd", "Holdings", "Corp"]


def person_name(rng: np.random.Generator) -> str:
    return f"{FIRST_NAMES[rng.integers(len(FIRST_NAMES))]} {LAST_NAMES[rng.integers(len(LAST_NAMES))]}"


def company_names(rng: np.random.Generator, count: int) -> list[str]:
    """Unique company names: word x kind x suffix, numbered where the combinations run out."""
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < count:
        name = (
            f"{COMPANY_WORDS[rng.integers(len(COMPANY_WORDS))]} "
            f"{COMPANY_KINDS[rng.integers(len(COMPANY_KINDS))]} "
            f"{COMPANY_SUFFIXES[rng.integers(len(COMPANY_SUFFIXES))]}"
        )
        if name in seen:
            name = f"{name} {len(names) + 1}"
        seen.add(name)
        names.append(name)
    return names


def slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())[:40]
