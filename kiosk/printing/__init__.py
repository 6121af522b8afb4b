"""Printing, in one package (Kivy-free; the drivers themselves live in ``drivers/printer/``).

- ``jobs.py``: which documents a print step produces, built from the session (no device).
- ``receipt_printer.py``: the receipt printer role's drivers (the device table in
  ``kiosk/devices/`` points here) and the print service: :func:`print_document` (status, send,
  status → :class:`PrintOutcome`) and :func:`print_in_background` (through ``kiosk.work``).
- ``a4_printer.py``: the A4 printer role's drivers (CUPS, simulated) and
  :func:`print_a4_document`, the same service for A4 documents.
- ``print_step.py``: the resident's print step engine (printing → printed | failed, reprint).
- ``test_page.py``: the printer test shared by the maintenance page and ``kiosk-tech print-test``
  (status check, test page, outcome) and the technicians' words for each status code.

What a document looks like and how it is rendered (ESC/POS, PDF, PNG) is ``kiosk/documents/``.
"""
