"""Group `embeddings`: movie texts and vectors, user preference vectors, similar movies.

Assets in assets.py, checks in checks.py; the pure logic they use lives beside them (text.py,
model.py, user_vectors.py, similarity.py, sanity.py, exports.py) and is testable without Dagster.
"""
