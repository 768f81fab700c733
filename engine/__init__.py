"""polyengine: an actor-model trading engine for Polymarket."""
