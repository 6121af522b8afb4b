"""Identity (人证核验), Kivy-free: face landmarks and their geometry, and the liveness engine.

The 1:1 matcher itself is ``contract.faces`` (shared with the backend); this package holds what
only the kiosk needs: ``landmarks`` (68-point landmarks of a camera frame, eye and mouth opening,
head pose) and ``liveness`` (the active blink / head-turn challenge, events in, state out).
"""
