"""One module per family of CLI commands; `archcalc.cli` registers them."""
