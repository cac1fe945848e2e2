"""Group `quality`: after every store load, what each store holds beside the upstream tables
(`cross_store_report`), how fast the live stores answer the platform's queries (`query_benchmarks`),
and whether the data recommends well on a temporal hold-out (`recommendation_quality`)."""
