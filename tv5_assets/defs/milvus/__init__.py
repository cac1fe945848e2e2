"""Group `milvus`: media and user embeddings as Milvus collections (assets.py), checked live (checks.py).

Schemas and rows: collections.py; the blue/green load protocol: loading.py. The resource key is
`milvus` (tv5_assets/resources/milvus.py): TV5_MILVUS_URI/TV5_MILVUS_TOKEN when set, else the
local Milvus Lite server that `tv5 services up` starts.
"""
