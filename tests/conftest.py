"""Shared fixtures: the repository's configuration, and one small synthetic programme
made and prepared once per test session (scale 0.1: about 870 people)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from increase_eval import config as cfg, prepare, synth

ROOT = Path(__file__).resolve().parents[1]
SCALE = 0.1
SEED = 7


@pytest.fixture(scope="session")
def config():
    return cfg.load(ROOT / "config")


@dataclass
class Prepared:
    raw: Path
    processed: Path
    secret: Path
    truth: dict
    outcome: prepare.Outcome

    @property
    def manifest(self) -> dict:
        return json.loads((self.processed / "manifest.json").read_text(encoding="utf-8"))


def make(tmp: Path, config, scale: float = SCALE, seed: int = SEED) -> Prepared:
    raw, processed, secret = tmp / "raw", tmp / "processed", tmp / "secret.key"
    truth = synth.generate(raw, config, seed=seed, scale=scale)
    outcome = prepare.run(raw, processed, config, secret=secret, say=lambda m: None)
    return Prepared(raw, processed, secret, truth, outcome)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory, config) -> Prepared:
    return make(tmp_path_factory.mktemp("synthetic"), config)


@pytest.fixture
def copy_of(tmp_path, prepared):
    """A private copy of the synthetic raw exports and secret, to break at will."""
    raw = tmp_path / "raw"
    shutil.copytree(prepared.raw, raw)
    secret = tmp_path / "secret.key"
    shutil.copy2(prepared.secret, secret)
    return raw, secret


@dataclass
class Reports:
    outputs: Path
    results: list
    processed: Path


@pytest.fixture(scope="session")
def reports(prepared, tmp_path_factory) -> Reports:
    """Reports for the partnership (both languages), one UK and one French landlord."""
    from increase_eval import report

    outputs = tmp_path_factory.mktemp("outputs")
    results = report.run(prepared.processed, outputs, ROOT / "config", entities=["all", "southern_housing", "archipel_habitat"],
                         progress=False)
    return Reports(outputs, results, prepared.processed)
