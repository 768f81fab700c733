"""Strategies as pure decision functions: a MarketView and holdings in, intents out."""
