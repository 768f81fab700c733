"""The local venue server: the simulated venue behind Polymarket's real protocol.

`VenueServer(ServerConfig(...))` serves the CLOB REST API, its market and user
WebSocket channels, Gamma, and price feeds on one loopback port, over a SimVenue; the
official clients work against it unchanged. See app.py (ServerConfig, VenueServer)
for the layout and the choice of libraries, and `polyengine venue --help` for running
it standalone.
"""
