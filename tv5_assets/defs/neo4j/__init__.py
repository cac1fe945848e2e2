"""Group `neo4j`: the knowledge graph in Neo4j, loaded online over Bolt (assets.py) and checked
live (checks.py); `neo4j_import_files` writes the same graph for `neo4j-admin database import`, and
`neo4j_bulk_import` uses them to build a fresh, empty database on the local server offline.

Model and source frames: model.py; batched idempotent writes: loader.py; import files:
import_files.py; when the offline import is safe: bulk_import.py. The resource key is `neo4j`
(tv5_assets/resources/neo4j.py): TV5_NEO4J_URI, TV5_NEO4J_USER, TV5_NEO4J_PASSWORD, TV5_NEO4J_DATABASE when set, else the local Neo4j that
`tv5 services up` starts.
"""
