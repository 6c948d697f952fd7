"""Stage `generate@<split>`: write templated product reviews with a sentiment label.

Synthetic and seeded so the example runs offline and gives the same bytes on
every machine. The reviews are built so model settings matter: negations
("not great", "never disappointing") flip a word's polarity, so word pairs
(featurize.ngram_max=2) beat single words; "X but Y" reviews take the
sentiment of the part after "but"; filler sentences carry no signal; and a
share of labels is replaced at random (generate.label_noise).

Usage: python src/generate.py <split> <out.csv>   (split: train | test)
Reads params.yaml:generate (seed, n_train, n_test, label_noise).
"""
from __future__ import annotations

import csv
import os
import sys

import numpy as np
import yaml

LABELS = ("negative", "neutral", "positive")
SPLIT_STREAMS = {"train": 0, "test": 1}

PRODUCTS = ("blender", "kettle", "headset", "backpack", "lamp", "keyboard", "toaster", "jacket",
            "phone case", "coffee grinder", "desk chair", "speaker", "water bottle", "router")
POSITIVE = ("great", "excellent", "sturdy", "reliable", "comfortable", "fantastic", "well made",
            "quiet", "worth the money", "easy to use", "lovely", "solid")
NEGATIVE = ("terrible", "flimsy", "broken", "noisy", "disappointing", "useless", "cheap",
            "uncomfortable", "awful", "overpriced", "faulty", "poor")
NEUTRAL = ("okay", "average", "fine", "as described", "standard", "ordinary", "acceptable")
INTENSIFIERS = ("", "", "really ", "very ", "quite ", "absolutely ", "pretty ")
NEGATIONS = ("not", "never", "hardly")
FILLER = (
    "It arrived on {day}.", "I bought it for my {person}.", "The box was {colour}.",
    "Delivery took {n} days.", "I have used it for {n} weeks.", "It came with a manual.",
    "I ordered the {colour} one.", "My {person} picked it out.",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PEOPLE = ("sister", "brother", "partner", "mother", "father", "office", "friend")
COLOURS = ("black", "white", "blue", "grey", "green", "red")


def load_section(name: str) -> dict:
    with open("params.yaml", encoding="utf-8") as fh:
        section = (yaml.load(fh, Loader=yaml.CSafeLoader) or {}).get(name)
    if not isinstance(section, dict):
        raise SystemExit(f"error: params.yaml: missing section '{name}:'")
    return section


class Writer:
    """Draws review parts from one generator; `pick` keeps call sites short."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def opinion(self, polarity: str, product: str) -> str:
        """One clause with the given polarity; sometimes a negated word of the other polarity."""
        rng = self.rng
        if polarity == "neutral":
            return f"the {product} is {self.pick(NEUTRAL)}"
        same, other = (POSITIVE, NEGATIVE) if polarity == "positive" else (NEGATIVE, POSITIVE)
        if rng.random() < 0.3:  # "not terrible" reads positive: only a word pair can tell
            return f"the {product} is {self.pick(NEGATIONS)} {self.pick(other)}"
        return f"the {product} is {self.pick(INTENSIFIERS)}{self.pick(same)}"

    def filler(self) -> str:
        return self.pick(FILLER).format(day=self.pick(DAYS), person=self.pick(PEOPLE),
                                        colour=self.pick(COLOURS), n=int(self.rng.integers(2, 15)))

    def review(self, label: str) -> str:
        rng = self.rng
        product = self.pick(PRODUCTS)
        if label != "neutral" and rng.random() < 0.25:
            # "X but Y": the part after "but" decides.
            first = "positive" if label == "negative" else "negative"
            body = f"{self.opinion(first, product)} but {self.opinion(label, product)}"
        else:
            body = self.opinion(label, product)
        sentences = [body[0].upper() + body[1:] + "."]
        for _ in range(int(rng.integers(0, 3))):
            sentences.insert(int(rng.integers(len(sentences) + 1)), self.filler())
        return " ".join(sentences)


def generate(seed: int, split: str, n: int, label_noise: float) -> list[tuple[str, str]]:
    # One independent, reproducible stream per split (SeedSequence spawning by key).
    rng = np.random.default_rng([seed, SPLIT_STREAMS[split]])
    writer = Writer(rng)
    rows = []
    for _ in range(n):
        label = LABELS[int(rng.choice(3, p=[0.35, 0.2, 0.45]))]
        text = writer.review(label)
        if rng.random() < label_noise:
            label = LABELS[int(rng.integers(3))]
        rows.append((label, text))
    return rows


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in SPLIT_STREAMS:
        raise SystemExit("usage: python src/generate.py train|test OUT.csv")
    split, out = argv
    params = load_section("generate")
    n = int(params.get(f"n_{split}", 1000))
    noise = float(params.get("label_noise", 0.0))
    if n < 10 or not 0.0 <= noise <= 1.0:
        raise SystemExit(f"error: params.yaml: need generate.n_{split} >= 10 and 0 <= label_noise <= 1")
    rows = generate(int(params.get("seed", 0)), split, n, noise)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("label", "text"))
        writer.writerows(rows)
    print(f"generate@{split}: {n} reviews -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
