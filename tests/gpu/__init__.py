"""The GPU suite: archcalc's device-side claims held to a real GPU (skipped where there is none)."""
