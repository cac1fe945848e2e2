"""One ConfigurableResource per store, each in its own module (milvus, postgres, redis, neo4j)."""
