"""The dashboards ship inside the package, and any notebook there is a dashboard."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import convolab.dashboards as dashboards
from convolab.dashboards import UnknownDashboard, dashboard_path, list_dashboards

REPO = Path(__file__).resolve().parents[2]


def test_the_dashboards_are_package_data() -> None:
    names = list_dashboards()
    assert {"qa_review", "live_monitor"} <= set(names)
    for name in names:
        path = dashboard_path(name)
        assert path.is_file() and path.parent == REPO / "convolab" / "dashboards"
    assert not list((REPO / "dashboards").glob("*.ipynb")), "dashboards moved into convolab/dashboards/"
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "**/*.ipynb" in package_data["convolab"]


def test_any_notebook_in_the_folder_is_a_dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "manager_report.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("not a dashboard")
    monkeypatch.setattr(dashboards, "DASHBOARD_DIR", tmp_path)
    assert list_dashboards() == ["manager_report"]
    assert dashboard_path("manager_report") == tmp_path / "manager_report.ipynb"


@pytest.mark.parametrize("name", ["nope", "../qa_review", "qa_review.ipynb", "/etc/passwd", ""])
def test_only_names_of_shipped_notebooks_are_accepted(name: str) -> None:
    with pytest.raises(UnknownDashboard, match="unknown dashboard") as info:
        dashboard_path(name)
    assert "qa_review" in str(info.value)  # says what there is
