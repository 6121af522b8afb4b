"""The wire contract between kiosk and backend: request signing, request ids, JSON schemas.

Both sides import this package and nothing of each other, so it depends on the standard library
and ``fastjsonschema`` only (the base install of ``police-kiosk``); the backend's install never
pulls in Kivy or OpenCV.
"""
