"""Outbound mail: the smarthost client, relay copies and robot replies."""
