"""Other evidence and the evaluator's commentary.

The evaluation also draws on what each landlord already holds: surveys, studies,
interviews, reports. Each landlord may keep an evidence register next to its mapping,
`config/landlords/<id>.evidence.yml` (title, date, kind, finding in French and English),
and the evaluator may write a commentary per report, `config/commentary/<entity>.<lang>.md`
(findings, recommendations, the conditions for keeping the programme going). Both are
optional. Commentary is Markdown rendered as text: raw HTML is shown as text, images are
not loaded and only web and e-mail links are kept, so a report still loads nothing and
runs nothing.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Strict):
    title: str | dict[Literal["fr", "en"], str] = Field(description="the document's title, in its own language "
                                                               "or in both")
    date: str = Field(description="when it was made: yyyy or yyyy-mm")
    kind: Literal["survey", "study", "interviews", "report", "data", "other"]
    finding: dict[Literal["fr", "en"], str] = Field(description="what it found, in French and in English")
    author: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v):
        text = v.isoformat()[:7] if isinstance(v, date) else str(v).strip()
        if not re.fullmatch(r"(19|20)\d\d(-(0[1-9]|1[0-2]))?", text):
            raise ValueError(f"'{text}' is not a year (yyyy) or a month (yyyy-mm)")
        return text

    @field_validator("finding")
    @classmethod
    def _both(cls, v):
        missing = {"fr", "en"} - set(v)
        if missing:
            raise ValueError(f"give the finding in {' and '.join(sorted(missing))} too (reports are in both)")
        return v


class Register(_Strict):
    synthetic: bool = Field(False, description="true for made-up examples (shown marked as such)")
    items: list[Item] = []


def register_path(config_root: Path | str, landlord: str) -> Path:
    return Path(config_root) / "landlords" / f"{landlord}.evidence.yml"


def load_register(config_root: Path | str, landlord: str) -> Register | None:
    """A landlord's evidence register, or None when it has none."""
    from .config import _read_yaml

    path = register_path(config_root, landlord)
    if not path.is_file():
        return None
    try:
        return Register.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise ConfigError(*[f"{path}: {'.'.join(map(str, e['loc']))}: "
                            f"{e.get('ctx', {}).get('error', e['msg']) if e['type'] == 'value_error' else e['msg']}"
                            for e in exc.errors()]) from None


def evidence_table(ctx, landlords: list[str]) -> str:
    """The registers of `landlords`, one row per item, in the reader's language."""
    from .narrative import para, table

    t = ctx.t
    rows = []
    for lid in landlords:
        reg = load_register(ctx.config.root, lid)
        if reg is None:
            continue
        for item in reg.items:
            title = item.title if isinstance(item.title, str) else item.title.get(ctx.lang) or next(
                iter(item.title.values()))
            if reg.synthetic:
                title = f"{title} {t('evidence.synthetic')}"
            row = [_date(ctx, item.date), t(f"evidence.kinds.{item.kind}"), title, item.finding[ctx.lang]]
            if ctx.is_group:
                row.insert(0, ctx.landlord_name(lid))
            rows.append(row)
    if not rows:
        return para(ctx, "evidence.none")
    headers = [t(f"evidence.cols.{c}") for c in ("date", "kind", "title", "finding")]
    if ctx.is_group:
        headers.insert(0, t("evidence.cols.landlord"))
    return table(headers, rows)


def _date(ctx, text: str) -> str:
    if len(text) == 4:
        return text
    year, month = text.split("-")
    return f"{month}/{year}"


# --- commentary ------------------------------------------------------------------------------------

def commentary_path(config_root: Path | str, entity: str, lang: str) -> Path:
    return Path(config_root) / "commentary" / f"{entity}.{lang}.md"


def render_markdown(text: str, shift: int = 2) -> str:
    """Markdown as safe HTML: raw HTML escaped, no images, links only to web and e-mail
    addresses, headings moved down `shift` levels (a commentary sits inside a section)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    md.validateLink = lambda url: bool(re.match(r"(?i)^(https?:|mailto:)", url.strip()))
    tokens = md.parse(text)
    for tok in tokens:
        if tok.type in ("heading_open", "heading_close"):
            tok.tag = f"h{min(int(tok.tag[1]) + shift, 6)}"
    return md.renderer.render(tokens, md.options, {})


def _front_matter(text: str) -> tuple[dict, str]:
    import yaml

    m = re.match(r"\A---\n(.*?)\n---\n", text, re.S)
    if not m:
        return {}, text
    meta = yaml.safe_load(m.group(1)) or {}
    return (meta if isinstance(meta, dict) else {}), text[m.end():]


def commentary(ctx) -> str:
    """The evaluator's commentary for this report, rendered; a sentence when there is none."""
    from .narrative import para

    path = commentary_path(ctx.config.root, ctx.entity, ctx.lang)
    if not path.is_file():
        return para(ctx, "evidence.commentary_none")
    meta, body = _front_matter(path.read_text(encoding="utf-8"))
    mark = (f'<p class="synthetic-note"><em>{html.escape(ctx.t("evidence.synthetic"))}</em></p>'
            if meta.get("synthetic") else "")
    return f'<div class="commentary">{mark}{render_markdown(body)}</div>'
