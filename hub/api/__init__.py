"""HTTP entrypoints: FastAPI app and the strawberry GraphQL schema."""
