"""The budget checker behind `archcalc check`: `budgets` holds each limit against an analysis, `formats` writes the outcome."""
