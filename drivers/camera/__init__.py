"""Camera drivers: a capture thread over a small frame-source seam, for OpenCV devices and a simulator."""
