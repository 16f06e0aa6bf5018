"""Other evidence and the evaluator's commentary: registers are checked (both languages,
dates a reader can trust), and commentary is Markdown that can run nothing, load nothing
and add no heading above the section's own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from increase_eval import evidence
from increase_eval.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
LANDLORDS = ["southern_housing", "abri", "clarion", "archipel_habitat", "neotoa", "pas_de_calais_habitat", "logirep"]


def test_each_partner_has_a_synthetic_register_and_commentary_in_its_language(config):
    for lid in LANDLORDS:
        reg = evidence.load_register(ROOT / "config", lid)
        assert reg is not None and reg.synthetic and reg.items, lid
        assert all(set(item.finding) == {"fr", "en"} for item in reg.items)
        lang = config.landlords[lid].language
        text = evidence.commentary_path(ROOT / "config", lid, lang).read_text(encoding="utf-8")
        assert text.startswith("---\nsynthetic: true\n---\n"), lid


@pytest.mark.parametrize("item, words", [
    ({"title": "Survey", "date": "2021-13", "kind": "survey", "finding": {"fr": "a", "en": "b"}}, "not a year"),
    ({"title": "Survey", "date": "2021", "kind": "survey", "finding": {"fr": "a"}}, "in en too"),
    ({"title": "Survey", "date": "2021", "kind": "rumour", "finding": {"fr": "a", "en": "b"}}, "kind"),
])
def test_a_register_entry_that_cannot_be_shown_is_explained(tmp_path, item, words):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    path = evidence.register_path(tmp_path / "config", "abri")
    import yaml
    path.write_text(yaml.safe_dump({"items": [item]}), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        evidence.load_register(tmp_path / "config", "abri")
    assert "abri.evidence.yml" in str(exc.value) and words in str(exc.value)


def test_commentary_markdown_can_run_nothing_and_load_nothing():
    html = evidence.render_markdown(
        "# Findings\n\n<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n"
        "**Bold** and [a link](https://example.org), [bad](javascript:alert(3)), ![pixel](https://tracker.example/p.png)")
    assert "<script" not in html and "<img" not in html and "src=" not in html.replace("src=x", "")
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror" in html   # shown as typed, inert
    assert 'href="javascript' not in html and 'href="https://example.org"' in html
    assert "<h3>Findings</h3>" in html and "<h1>" not in html   # under the section's own heading
    assert "<strong>Bold</strong>" in html
