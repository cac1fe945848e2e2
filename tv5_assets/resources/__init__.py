"""One ConfigurableResource per store, each in its own module (milvus, postgres, redis, neo4j); and
the code location's own asset graph for the data dictionary (code_location)."""
