"""The five policy categories as data: ids, names, descriptions and cues.

Every other module takes its label set from here, so the order of
:data:`LABELS` is the column order of every label matrix in the library.
The text follows ``ANNOTATION.md`` (the project's annotation guide).

>>> from darien_nlp.taxonomy import LABELS, CATEGORIES
>>> LABELS[0]
'enforcement'
>>> CATEGORIES["environment"].name
'Environment & ecosystems'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

__all__ = ["Category", "CATEGORIES", "LABELS", "validate_labels", "labels_to_matrix"]


@dataclass(frozen=True, slots=True)
class Category:
    """One policy category: its id, display name, description and typical cues."""

    id: str
    name: str
    description: str
    cues: tuple[str, ...]

    def prompt(self) -> str:
        """A one-paragraph description used by zero-shot scoring and topic seeding."""
        return f"{self.name}: {self.description} ({', '.join(self.cues)})"


_CATEGORIES = (
    Category(
        id="enforcement",
        name="Enforcement & border security",
        description=(
            "stopping or policing movement: border control, security forces, combating "
            "smuggling and trafficking networks and transnational criminal organizations, "
            "prosecutions, deportation, repatriation, removal flights, detention, visa "
            "restrictions imposed to curb transit, identity checks, security information sharing"
        ),
        cues=("smuggling", "trafficking", "criminal networks", "deport", "repatriate",
              "border security", "close the route", "illicit movement"),
    ),
    Category(
        id="lawful_pathways",
        name="Lawful pathways & regularization",
        description=(
            "legal alternatives to irregular migration: Safe Mobility Offices, parole (CHNV), "
            "refugee resettlement, temporary work visas, family reunification, regularization "
            "and temporary protected status, access to asylum procedures, safe, orderly, humane "
            "and regular channels"
        ),
        cues=("lawful pathways", "Safe Mobility", "parole", "regularization", "TPS/PPT",
              "work visas", "family reunification", "resettlement"),
    ),
    Category(
        id="humanitarian",
        name="Humanitarian protection",
        description=(
            "the safety, lives, health and rights of migrants: deaths and dangers of the "
            "crossing, humanitarian assistance (food, shelter, health care), protection of "
            "vulnerable groups (children, victims), human rights, humane treatment"
        ),
        cues=("humanitarian", "vulnerable", "protect migrants", "risk to life", "perish",
              "human rights", "assistance", "shelter"),
    ),
    Category(
        id="development",
        name="Development & root causes",
        description=(
            "economic and social conditions: poverty reduction, jobs, public services, "
            "investment, socio-economic integration of migrants in host communities, support "
            "for border communities, partnerships with financial institutions, civil society "
            "and the private sector, drivers of migration"
        ),
        cues=("poverty", "jobs", "economic opportunity", "integration", "border communities",
              "drivers/root causes", "investment"),
    ),
    Category(
        id="environment",
        name="Environment & ecosystems",
        description=(
            "the natural environment: the rainforest and jungle as ecosystems, strategic "
            "ecosystems, environmental damage from the migration route, conservation, "
            "deforestation, pollution"
        ),
        cues=("rainforest", "ecosystem", "environmental", "conservation", "preserve the forest"),
    ),
)

#: id -> :class:`Category`, in taxonomy order.
CATEGORIES: Mapping[str, Category] = {category.id: category for category in _CATEGORIES}

#: The ordered tuple of label ids; the column order of every label matrix.
LABELS: tuple[str, ...] = tuple(CATEGORIES)


def validate_labels(labels: Iterable[str], *, where: str = "labels") -> tuple[str, ...]:
    """Return ``labels`` de-duplicated in taxonomy order, or raise on an unknown id.

    >>> validate_labels(["humanitarian", "enforcement"])
    ('enforcement', 'humanitarian')
    """
    if isinstance(labels, str):
        raise TypeError(f"{where} must be a list of label ids, not the string {labels!r}")
    given = set()
    for label in labels:
        if label not in CATEGORIES:
            raise ValueError(
                f"Unknown label {label!r} in {where}; allowed labels are {list(LABELS)}"
            )
        given.add(label)
    return tuple(label for label in LABELS if label in given)


def labels_to_matrix(label_lists: Iterable[Iterable[str]]):
    """Turn lists of label ids into a (n, 5) 0/1 ``numpy`` matrix in taxonomy order.

    >>> labels_to_matrix([["environment"], []]).tolist()
    [[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    """
    import numpy as np

    rows = [validate_labels(labels, where=f"row {i}") for i, labels in enumerate(label_lists)]
    matrix = np.zeros((len(rows), len(LABELS)), dtype=np.int8)
    index = {label: j for j, label in enumerate(LABELS)}
    for i, labels in enumerate(rows):
        for label in labels:
            matrix[i, index[label]] = 1
    return matrix
