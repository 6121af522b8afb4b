"""ID photo rules: specs as data, face detection, per-frame checks, and composing the final JPEG.

Everything here is pure Python + OpenCV on numpy frames; nothing imports Kivy or touches a device.
"""
