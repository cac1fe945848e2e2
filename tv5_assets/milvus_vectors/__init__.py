"""Group `milvus`: media and user embeddings as Milvus collections (assets.py), checked live (checks.py).

Schemas and rows: collections.py; the blue/green load protocol: loading.py. The resource key is
`milvus` (tv5_assets/resources/milvus.py): TV5_MILVUS_URI/TV5_MILVUS_TOKEN when set, else the
local Milvus Lite server that `tv5 services up` starts.
"""

import dagster as dg

from ..resources.milvus import milvus_resource_from_env
from .assets import milvus_media_collection, milvus_user_collection
from .checks import media_collection_checks, user_collection_checks

defs = dg.Definitions(
    assets=[milvus_media_collection, milvus_user_collection],
    asset_checks=[*media_collection_checks, *user_collection_checks],
    resources={"milvus": milvus_resource_from_env()},
)
