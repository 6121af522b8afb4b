"""Liveness cameras (infrared / binocular) that sites buy: their vendor SDK behind one interface."""
