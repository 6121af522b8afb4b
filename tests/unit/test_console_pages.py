"""The staff console's page pieces without a server: the step funnel and its chart, escaping of
what kiosks send, and the navigation a role sees (backend/console)."""

from __future__ import annotations

from backend.console import html as ui
from backend.console.ops_pages import funnel, funnel_chart
from backend.staff import PERMISSIONS


def _kiosk(steps: list[tuple[str, str, str, int]]) -> dict[str, object]:
    return {"steps": [{"service": s, "step": st, "outcome": o, "count": c} for s, st, o, c in steps]}


def test_the_funnel_sums_kiosks_and_puts_the_most_started_step_first() -> None:
    kiosks = [
        _kiosk(
            [
                ("svc", "photo", "started", 10),
                ("svc", "photo", "abandoned", 2),
                ("svc", "consent", "started", 20),
            ]
        ),
        _kiosk(
            [("svc", "photo", "started", 5), ("svc", "photo", "timed_out", 1), ("svc", "photo", "failed", 1)]
        ),
    ]
    steps = funnel(kiosks)["svc"]  # type: ignore[arg-type]
    assert steps == [
        ("consent", {"started": 20}),
        ("photo", {"started": 15, "abandoned": 2, "timed_out": 1, "failed": 1}),
    ]
    chart = funnel_chart("svc", steps)
    assert chart.startswith("<svg") and chart.endswith("</svg>")
    assert "须知 consent" in chart and "拍照 photo" in chart
    assert "15 人 · 放弃 3 (20%) · 失败 1" in chart  # abandoned and timed out are both giving up
    assert chart.count("<rect") == 1 + 3 + 3  # consent: went on; photo: three parts; the legend: three


def test_what_kiosks_send_is_escaped() -> None:
    hostile = '<script>alert("x")</script>'
    chart = funnel_chart(hostile, [(hostile, {"started": 1})])
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    assert "<script>" not in ui.service_text(hostile) + ui.value_text(hostile) + ui.type_text(hostile)


def test_a_role_sees_only_the_pages_it_may_open() -> None:
    def nav(role: str) -> str:
        return ui.frame(
            "t", "t", "", user="u", role=role, permissions=PERMISSIONS[role], csrf="c", idle_s=900
        )

    reviewer, admin = nav("reviewer"), nav("admin")
    assert "/console/queue" in reviewer and "/console/alerts" in reviewer
    assert "/console/fleet" not in reviewer and "/console/audit" not in reviewer
    assert "/console/accounts" not in reviewer and "/console/accounts" in admin
    assert 'name="csrf" value="c"' in reviewer  # the logout form
    assert "<script src=" in reviewer and "://" not in reviewer  # nothing remote
