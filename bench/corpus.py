"""The retrieval bench's corpus: a gazetteer of invented towns, and questions about them.

    uv run python -m bench.corpus   # writes bench/data/gazetteer.json (committed)

Written from templates with a fixed seed, so it is the same on every machine. It is the
project's own work, dedicated to the public domain (CC0 1.0): no third-party text, nothing
downloaded. Each town's article has four paragraphs, long enough that an article is cut into
several passages, and only the first names the town: finding the paragraph that answers a
question takes the question's other words, or its meaning. Questions are asked the way a
person would, often without the words of the answer ("how many people live" against
"population"), which is where full text and meaning differ.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

__all__ = ("CORPUS", "build", "load")

CORPUS = Path(__file__).parent / "data" / "gazetteer.json"
_SEED = 20261128
_TOWNS = 100

_SYLLABLES = "bar ven tor mil quen dar sol rin fal ost lum gar pel vic nor hald brin cas wyn tam"
_REGIONS = ["northern", "southern", "eastern", "western", "central", "coastal", "upland"]
_PRODUCTS = [
    ("woollen blankets", "textiles"),
    ("copper kettles", "metalwork"),
    ("blue cheese", "dairy"),
    ("glass beads", "glassware"),
    ("apple cider", "drinks"),
    ("oak barrels", "woodwork"),
    ("salted herring", "fish"),
    ("linen sails", "cloth"),
    ("clay roof tiles", "pottery"),
    ("honey cakes", "baking"),
]
_FESTIVALS = ["lanterns", "kites", "bread", "boats", "bells", "masks", "horses", "flowers"]
_MONTHS = ["March", "April", "May", "June", "July", "August", "September", "October"]
_TRADES = ["a weaver", "a blacksmith", "a miller", "a ferryman", "a stonemason", "a priest"]
_FIRST = ["Anna", "Berthold", "Clara", "Dmitri", "Elise", "Farid", "Greta", "Hugo", "Ines"]
_LAST = ["Marsh", "Holt", "Varga", "Lind", "Okafor", "Brandt", "Seward", "Quell", "Moro"]


def _name(rng: random.Random, taken: set[str]) -> str:
    syllables = _SYLLABLES.split()
    while True:
        name = "".join(rng.choice(syllables) for _ in range(2)).capitalize()
        if name not in taken:
            taken.add(name)
            return name


def _town(rng: random.Random, name: str, river: str) -> tuple[str, list[dict[str, str]]]:
    founded = rng.randint(1150, 1890)
    founder = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    trade = rng.choice(_TRADES)
    product, craft = rng.choice(_PRODUCTS)
    people = rng.randint(2, 98) * 1000 + rng.randint(1, 9) * 100
    festival, month = rng.choice(_FESTIVALS), rng.choice(_MONTHS)
    bridges = rng.randint(2, 9)
    region = rng.choice(_REGIONS)
    history = (
        f"{name} is a market town in the {region} hills. It was founded in {founded} by "
        f"{founder}, {trade} who settled by the river ford. The old town grew around a "
        "square where farmers from the nearby villages sold grain and livestock, and its "
        "charter granted the right to hold a weekly market."
    )
    trade_text = (
        f"Its workshops have made {product} for generations, and {craft} remains the "
        "largest employer. Merchants carried the goods down the valley roads to the ports, "
        "and the guild hall still keeps the ledgers of the old trade."
    )
    people_text = (
        f"At the last census the population was {people:,}. Most residents live in the "
        "districts on the north bank; the south bank is mostly orchards and pasture, "
        "crossed by narrow lanes and dry stone walls."
    )
    river_text = (
        f"The river {river} divides the town and is spanned by {bridges} bridges. Every "
        f"{month} the town holds a festival of {festival}, which draws visitors from across "
        "the region to the riverside meadows."
    )
    questions = [
        {"q": f"When was {name} founded?", "a": str(founded)},
        {"q": f"Who established the settlement of {name}?", "a": founder},
        {"q": f"What goods is {name} famous for producing?", "a": product},
        {"q": f"How many people live in {name}?", "a": f"{people:,}"},
        {"q": f"How many crossings are there over the water in {name}?", "a": f"{bridges} bridges"},
        {"q": f"What celebration takes place in {name}, and in which month?", "a": festival},
    ]
    article = "\n\n".join([f"# {name}", history, trade_text, people_text, river_text])
    return article, questions


def build() -> dict[str, Any]:
    """The corpus: towns' articles and the questions each answers (with their answer)."""
    rng = random.Random(_SEED)  # noqa: S311 - a reproducible corpus, not a secret
    taken: set[str] = set()
    documents, questions = [], []
    for _ in range(_TOWNS):
        name, river = _name(rng, taken), _name(rng, taken)
        article, asked = _town(rng, name, river)
        documents.append({"title": f"{name}.md", "text": article})
        questions += [{**q, "title": f"{name}.md"} for q in rng.sample(asked, 3)]
    return {"license": "CC0-1.0", "documents": documents, "questions": questions}


def load() -> dict[str, Any]:
    """The committed corpus."""
    corpus: dict[str, Any] = json.loads(CORPUS.read_text(encoding="utf-8"))
    return corpus


if __name__ == "__main__":
    CORPUS.parent.mkdir(exist_ok=True)
    CORPUS.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {CORPUS}")
