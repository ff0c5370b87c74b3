"""archcalc's performance suite (not part of the pytest run): `python -m speed`."""
