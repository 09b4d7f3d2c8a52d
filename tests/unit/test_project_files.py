"""The files an open project carries: linked from the README, their links whole, and a
changelog entry for the version pyproject.toml declares."""

from __future__ import annotations

import re

from tests.project import ROOT, VERSION

DOCUMENTS = ("README.md", "CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md", "ARCHITECTURE.md")


def _links(document: str) -> set[str]:
    """The relative links of a Markdown document (no scheme, no bare anchor)."""
    text = (ROOT / document).read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return {target for target in targets if not re.match(r"[a-z]+:|#", target)}


def _anchors(document: str) -> set[str]:
    """The anchors a code host makes of a Markdown document's headings."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / document).read_text(), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_links_the_licence_and_the_project_files() -> None:
    assert {"LICENSE", "CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md"} <= _links("README.md")
    assert "MIT licence" in (ROOT / "README.md").read_text()


def test_every_relative_link_names_a_file_and_heading_that_exist() -> None:
    for document in DOCUMENTS:
        for link in _links(document):
            path, _, anchor = link.partition("#")
            assert (ROOT / path).exists(), f"{document}: {link}"
            if anchor:
                assert anchor in _anchors(path), f"{document}: {link}"


def test_the_changelog_has_an_entry_for_this_version_and_a_place_for_the_next() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()

    assert "\n## [Unreleased]\n" in changelog
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
