"""Review and confirm: everything the resident entered, personal data masked."""

from __future__ import annotations

from typing import Any

from kivy.properties import ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.services.fields import display_value
from kiosk.services.regions import mask_address
from kiosk.steps.payment import fee_due
from kiosk.visit.privacy import mask_id_number, mask_name
from screens.base import KioskScreen


def review_rows(flow: Any, lang: str, tr: Any) -> list[tuple[str, str]]:
    """(label, shown value) pairs for the review screen, in the order they were asked."""
    service = flow.service
    session = flow.session
    rows = [(tr("review.service", lang), service.title.get(lang))]
    identity = session.identity
    if identity is not None:
        name = getattr(identity, "name", "") or ""
        number = getattr(identity, "id_number", "") or ""
        if name:
            rows.append((tr("review.applicant", lang), mask_name(name)))
        if number:
            rows.append((tr("review.id_number", lang), mask_id_number(number)))
    for step in flow.steps_taken():
        for field in step.fields:
            if field.id in session.values:
                rows.append((field.label.get(lang), display_value(field, session.values[field.id], lang)))
        if step.kind == "address" and session.values.get("mail_address"):
            rows.append((tr("address.review", lang), mask_address(str(session.values["mail_address"]))))
    fee_fen = int(fee_due(service, session.values)["amount_fen"])  # a plate's fee by its type
    if fee_fen:
        rows.append((tr("review.fee", lang), f"￥{fee_fen / 100:.2f}"))
    return rows


class ReviewRow(BoxLayout):
    label = StringProperty("")
    value = StringProperty("")


class ReviewScreen(KioskScreen):
    service_title = StringProperty("")
    stages = ListProperty([])
    stage = NumericProperty(-1)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._flow: Any = None

    def load(self, flow: Any) -> None:
        self._flow = flow
        self.refresh()

    def refresh(self, *_args: Any) -> None:
        rows_box = self.ids.rows
        rows_box.clear_widgets()
        if self._flow is None:
            return
        app = self.app
        from screens.steps.base import service_stages

        self.service_title = self._flow.service.title.get(app.lang)
        names, self.stage = service_stages([s.kind for s in self._flow.service.steps], "review")
        self.stages = [app.tr(f"stage.{name}") for name in names]
        for label, value in review_rows(self._flow, app.lang, app.tr):
            row = ReviewRow(label=label, value=value)
            rows_box.add_widget(row)

    def reset(self) -> None:
        self._flow = None
        self.ids.rows.clear_widgets()


SCREEN_CLASS = ReviewScreen
