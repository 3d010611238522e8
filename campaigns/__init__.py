"""Campaigns: optimisation of recipes and what-if simulations."""
