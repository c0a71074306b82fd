"""What the services agree on, owned by none of them (like Online Boutique's `protos/`).

- `events.py`: every event type, the shape of its payload, and which services consume it.

A service imports this package, never another service's code; shared/ carries events without
knowing what they mean.
"""
