"""Adapters: database tables, repositories, outbox, audit log, Kafka."""
