"""Measured throughput, per-layer times and memory of a spec built in torch.

torch is imported inside functions only: `archcalc.commands.bench` imports this package on the
static path too (for `roofline` and `memory`), which must stay torch-free.
"""
