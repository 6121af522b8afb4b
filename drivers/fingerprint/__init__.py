"""Thumb-print collectors (issue #19): the interface, the site's licensed SDK seam, a simulator."""
