"""Reader-facing text in French and English: strings as data (config/strings/<lang>.yml),
numbers, percentages, money and dates formatted for the language."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

LANGUAGES = ("fr", "en")
NBSP = "\u00a0"   # French groups digits with a (no-break) space: 1 234,5


def capitalised(words: str) -> str:
    """Words opening a heading: a name written in running text ("the United Kingdom") takes
    a capital there."""
    return words[:1].upper() + words[1:]


class Text:
    def __init__(self, lang: str, strings: dict):
        self.lang, self.strings = lang, strings

    def __call__(self, key: str, **values) -> str:
        node = self.strings
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"no string '{key}' in config/strings/{self.lang}.yml")
            node = node[part]
        return str(node).format(**values) if values else str(node)

    def number(self, x, decimals: int = 0) -> str:
        if x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA:
            return "–"
        text = f"{x:,.{decimals}f}"
        if text.startswith("-") and not any(c in "123456789" for c in text):   # -0.004 to 2 places is 0.00, unsigned
            text = text[1:]
        if self.lang == "fr":
            text = text.replace(",", NBSP).replace(".", ",")
        return text

    def pct(self, p, decimals: int = 1) -> str:
        if p is None or (isinstance(p, float) and np.isnan(p)):
            return "–"
        return f"{self.number(100 * p, decimals)}{NBSP}%" if self.lang == "fr" else f"{self.number(100 * p, decimals)}%"

    def interval(self, lo, hi, pct: bool = True, decimals: int = 1) -> str:
        f = self.pct if pct else (lambda v, d=decimals: self.number(v, d))
        sep = " ; " if self.lang == "fr" else ", "
        return f"[{f(lo, decimals)}{sep}{f(hi, decimals)}]"

    def money(self, x, currency: str, decimals: int = 0) -> str:
        symbol = {"GBP": "£", "EUR": "€"}.get(currency, currency)
        if self.lang == "fr":
            return f"{self.number(x, decimals)}{NBSP}{symbol}"
        shown = self.number(abs(x), decimals)
        return f"{'-' if x < 0 and any(c in '123456789' for c in shown) else ''}{symbol}{shown}"

    def p_value(self, p) -> str:
        if p is None or (isinstance(p, float) and np.isnan(p)):
            return "–"
        return f"<{self.number(0.001, 3)}" if p < 0.001 else self.number(p, 3)

    def reason(self, reason: str) -> str:
        """A reject reason (written in English by `prepare`) in the reader's language: the
        first pattern of `reasons` that matches it whole, then `reason_words`, whole words
        (e.g. date formats: dd/mm/yyyy -> jj/mm/aaaa). Unmatched reasons stay as written."""
        for pattern, replacement in self.strings.get("reasons") or []:
            if re.fullmatch(pattern, reason):
                reason = re.sub(pattern, replacement, reason)
                for word, said in self.strings.get("reason_words") or []:
                    reason = re.sub(rf"\b{re.escape(word)}\b", said, reason)
                return self._reason_numbers(reason)
        return self._reason_numbers(reason)

    def _reason_numbers(self, reason: str) -> str:
        """Dates and large numbers inside a reason as the reader writes them: 1930-01-01 as
        01/01/1930, 50000 as 50,000 (50 000 in French), +/- as ±."""
        reason = re.sub(r"\b(\d{4})-(\d\d)-(\d\d)\b", lambda m: f"{m[3]}/{m[2]}/{m[1]}", reason)
        reason = reason.replace("+/-", "±")
        return re.sub(r"(?<![\d.,/+])(\d{5,})(?![\d/])", lambda m: self.number(int(m[1])), reason)

    def date(self, d) -> str:
        if d is None or pd.isna(d):
            return "–"
        d = pd.Timestamp(d)
        return d.strftime("%d/%m/%Y")

    def label(self, group: str, value) -> str:
        """A category's reader-facing name, e.g. label('sex', 'F') -> 'Women'; a missing
        value is "unknown" (a dash means a figure withheld, never a category)."""
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return self("common.unknown")
        try:
            return self(f"labels.{group}.{value}")
        except KeyError:
            return str(value)

    def month(self, d) -> str:
        """A month as a reader names it on an axis: 'Jul 2020', 'juil. 2020'."""
        d = pd.Timestamp(d)
        return f"{self.strings['common']['months'][d.month - 1]} {d.year}"

    def variant(self, key: str, group: bool) -> str:
        """`key`, or its `.group` / `.landlord` form where the strings word it per kind of
        report (a landlord's, or a group's of several landlords)."""
        node = self.strings
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and {"group", "landlord"} <= set(node):
            return f"{key}.{'group' if group else 'landlord'}"
        return key


def load(config_root: Path | str, lang: str) -> Text:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language '{lang}'; valid: {', '.join(LANGUAGES)}")
    path = Path(config_root) / "strings" / f"{lang}.yml"
    return Text(lang, yaml.safe_load(path.read_text(encoding="utf-8")))
