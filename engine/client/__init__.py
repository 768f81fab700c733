"""The engine's own Trio-native client for the venue: REST (httpx) and its helpers."""
