"""Use cases of the registry: unit of work and one small handler per operation."""
