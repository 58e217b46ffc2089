"""The hub's outside contract (docs/contract.md) as code: what partners, connectors and consumers rely on.

Both the hub and the connectors import it; it imports nothing of the hub but the identifier rules (hub.domain).

* ``topics``      — topic names (inbound per department, outbound) and each department's CloudEvents source
* ``types``       — event type strings, inbound and outbound
* ``inbound``     — the inbound envelope and ``data`` models, and ``translate`` (bytes → event or reason, pure)
* ``cloudevents`` — the one CloudEvent builder of outbound events: a dict, a %-template for bulk work and a
                    PostgreSQL expression, all three generated from one envelope definition (byte for byte alike)
"""
