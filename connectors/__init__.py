"""Department connectors: one package per partner (translate + run) on a shared runner."""
