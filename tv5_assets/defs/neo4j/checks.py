"""Checks of the `neo4j` group, run against the live graph.

Each load's check recomputes, from the upstream tables, how many nodes and edges the graph must
hold and compares with the server's counts; it also looks for parallel edges (count versus
distinct pairs). A server that lost its data behind a materialized asset (data folder deleted,
TV5_NEO4J_URI pointed elsewhere) fails these checks with a message that says so.
"""

import time

import dagster as dg
import polars as pl

from ...partitions import context_range, user_partitions_def
from ...resources.neo4j import Neo4jResource
from ...settings import data_dir
from ...stores.neo4j import import_files, loader, model
from .assets import (
    _similarity_threshold,
    neo4j_bulk_import,
    neo4j_constraints,
    neo4j_import_files,
    neo4j_movie_tags,
    neo4j_movies,
    neo4j_platforms,
    neo4j_ratings,
    neo4j_similarity,
    neo4j_users,
)

EMPTY_HINT = (
    "The graph holds nothing of this although the asset was materialized: the server's data was "
    "removed or replaced (another TV5_DATA_DIR, a wiped services/neo4j folder, TV5_NEO4J_URI pointing "
    "at another server). Re-materialize the `neo4j` group."
)


def _compare(
    expected: dict[str, int], actual: dict[str, int], duplicates: dict[str, int] | None = None
) -> dg.AssetCheckResult:
    """Pass when every count matches and no parallel edges exist; the metadata says what differs."""
    duplicates = duplicates or {}
    problems = [
        f"{name}: graph has {actual[name]:,}, upstream implies {want:,}"
        for name, want in expected.items()
        if actual[name] != want
    ]
    problems += [f"{name}: {n:,} parallel edge(s)" for name, n in duplicates.items() if n]
    if expected and any(expected.values()) and not any(actual[name] for name in expected):
        problems.append(EMPTY_HINT)
    metadata = {f"expected_{k}": v for k, v in expected.items()}
    metadata.update({f"graph_{k}": actual[k] for k in expected})
    metadata.update({f"duplicate_{k}": v for k, v in duplicates.items()})
    if problems:
        metadata["problems"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))
    return dg.AssetCheckResult(passed=not problems, metadata=metadata)


def _counts(neo4j: Neo4jResource) -> dict[str, int]:
    with neo4j.driver() as driver, neo4j.translate_errors("counting the graph"):
        return {**loader.label_counts(driver, neo4j.database), **loader.relationship_counts(driver, neo4j.database)}


def _duplicates(neo4j: Neo4jResource, *rels: model.RelSpec) -> dict[str, int]:
    with neo4j.driver() as driver, neo4j.translate_errors("looking for parallel edges"):
        return {rel.type: loader.duplicate_relationships(driver, neo4j.database, rel) for rel in rels}


@dg.asset_check(
    asset=neo4j_bulk_import,
    blocking=True,
    description=(
        "When the step imported, the live graph holds exactly the nodes and relationships the import "
        "left (per label and type); when it did not, it says why and passes."
    ),
)
def bulk_import_left_the_graph(context: dg.AssetCheckExecutionContext, neo4j: Neo4jResource) -> dg.AssetCheckResult:
    event = context.instance.get_latest_materialization_event(neo4j_bulk_import.key)
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    imported = getattr(metadata.get("imported"), "value", False)
    if not imported:
        reason = getattr(metadata.get("reason"), "value", "not materialized")
        return dg.AssetCheckResult(passed=True, metadata={"imported": False, "reason": str(reason)})
    # Only what the import writes: SIMILAR_TO is loaded online afterwards (neo4j_similarity).
    imported_kinds = {*import_files.NODE_FILES, *import_files.REL_FILES}
    expected = {kind: count for kind, count in dict(metadata["counts"].value).items() if kind in imported_kinds}
    return _compare(expected, _counts(neo4j))


@dg.asset_check(asset=neo4j_constraints, blocking=True, description="A uniqueness constraint exists on every node key.")
def uniqueness_constraints_exist(neo4j: Neo4jResource) -> dg.AssetCheckResult:
    with neo4j.driver() as driver, neo4j.translate_errors("listing constraints"):
        present = loader.existing_uniqueness(driver, neo4j.database)
    missing = [f"{n.label}.{n.key}" for n in model.NODES if (n.label, n.key) not in present]
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "present": ", ".join(sorted(f"{label}.{key}" for label, key in present)),
            "missing": ", ".join(missing) or "none",
        },
    )


@dg.asset_check(
    asset=neo4j_movies,
    blocking=True,
    description="Movie, Genre and HAS_GENRE counts equal what `movies` implies; no parallel HAS_GENRE edges.",
    additional_ins={"movies": dg.AssetIn("movies")},
)
def movie_graph_matches_movies(neo4j: Neo4jResource, movies: pl.DataFrame) -> dg.AssetCheckResult:
    expected = {
        "Movie": movies.height,
        "Genre": model.genre_nodes(movies).height,
        "HAS_GENRE": model.has_genre_rels(movies).height,
    }
    return _compare(expected, _counts(neo4j), _duplicates(neo4j, model.HAS_GENRE))


@dg.asset_check(
    asset=neo4j_movie_tags,
    blocking=True,
    description="Tag and HAS_TAG counts equal what genome_tags and movie_genome imply; no parallel HAS_TAG edges.",
    additional_ins={"genome_tags": dg.AssetIn("genome_tags"), "movie_genome": dg.AssetIn("movie_genome")},
)
def tag_graph_matches_genome(
    neo4j: Neo4jResource, genome_tags: pl.DataFrame, movie_genome: pl.DataFrame
) -> dg.AssetCheckResult:
    expected = {"Tag": genome_tags.height, "HAS_TAG": model.has_tag_rels(movie_genome).height}
    return _compare(expected, _counts(neo4j), _duplicates(neo4j, model.HAS_TAG))


@dg.asset_check(
    asset=neo4j_users,
    blocking=True,
    description="One User node per row of user_profiles.",
    additional_ins={"user_profiles": dg.AssetIn("user_profiles")},
)
def user_nodes_match_profiles(neo4j: Neo4jResource, user_profiles: pl.DataFrame) -> dg.AssetCheckResult:
    return _compare({"User": user_profiles.height}, _counts(neo4j))


@dg.asset_check(
    asset=neo4j_ratings,
    blocking=True,
    description="One RATED edge per (user, movie) rating in `ratings`; no parallel RATED edges. Partitioned: "
    "the same within the partition's user range.",
    additional_ins={"ratings": dg.AssetIn("ratings")},
    partitions_def=user_partitions_def(),
)
def rated_edges_match_ratings(
    context: dg.AssetCheckExecutionContext, neo4j: Neo4jResource, ratings: pl.LazyFrame
) -> dg.AssetCheckResult:
    users = context_range(context)
    if users is None:
        pairs = ratings.select(pl.struct("user_id", "movie_id").n_unique()).collect().item()
        return _compare({"RATED": int(pairs)}, _counts(neo4j), _duplicates(neo4j, model.RATED))
    in_range = ratings.filter(users.contains_expr())
    pairs = in_range.select(pl.struct("user_id", "movie_id").n_unique()).collect().item()
    with neo4j.driver() as driver, neo4j.translate_errors(f"counting RATED edges of {users.describe()}"):
        stored = loader.relationships_in_range(driver, neo4j.database, model.RATED, users.key_bounds())
        duplicates = loader.duplicate_relationships(driver, neo4j.database, model.RATED, users.key_bounds())
    return _compare({"RATED": int(pairs)}, {"RATED": stored}, {"RATED": duplicates})


TRAVERSAL = (
    "MATCH (u:User {user_id: $user_id})-[r:RATED]->(m:Movie)-[:HAS_GENRE]->(g:Genre) "
    "RETURN m.media_id AS media_id, m.title AS title, r.score AS score, g.name AS genre LIMIT 10"
)


@dg.asset_check(
    asset=neo4j_ratings,
    blocking=True,
    description="The plan's benchmark traversal (a user's rated movies and their genres) returns rows "
    "(partitioned: for a user of the partition's range).",
    partitions_def=user_partitions_def(),
)
def user_traversal_returns_rows(context: dg.AssetCheckExecutionContext, neo4j: Neo4jResource) -> dg.AssetCheckResult:
    users = context_range(context)
    where, params = loader.source_filter(model.RATED, None if users is None else users.key_bounds())
    with neo4j.driver() as driver, neo4j.translate_errors("running the benchmark traversal"):
        with loader.session(driver, neo4j.database) as s:
            # The user with the most ratings among the first few: a user is sure to have genres
            # reachable unless the graph is broken (empty, or HAS_GENRE missing).
            record = s.run(
                f"MATCH (s:User) WHERE {where} WITH s AS u LIMIT 100 "
                "RETURN u.user_id AS user_id ORDER BY COUNT { (u)-[:RATED]->() } DESC LIMIT 1",
                **params,
            ).single()
            if record is None:
                return dg.AssetCheckResult(
                    passed=False, metadata={"problem": "no User node in the graph. " + EMPTY_HINT}
                )
            user_id = record["user_id"]
            started = time.perf_counter()
            rows = s.run(TRAVERSAL, user_id=user_id).data()
            millis = (time.perf_counter() - started) * 1000
    return dg.AssetCheckResult(
        passed=bool(rows),
        metadata={
            "user_id": user_id,
            "rows": len(rows),
            "query_ms": round(millis, 2),
            "query": dg.MetadataValue.md(f"```cypher\n{TRAVERSAL}\n```"),
            "sample": dg.MetadataValue.json(rows[:3]),
        },
    )


@dg.asset_check(
    asset=neo4j_similarity,
    blocking=True,
    description="SIMILAR_TO count equals similar_movies' pairs at or above the threshold; every score is at "
    "or above it; no parallel edges.",
    additional_ins={"similar_movies": dg.AssetIn("similar_movies")},
)
def similar_edges_match_and_meet_threshold(
    context: dg.AssetCheckExecutionContext, neo4j: Neo4jResource, similar_movies: pl.DataFrame
) -> dg.AssetCheckResult:
    # The config of the last load is not visible here; its recorded threshold is.
    event = context.instance.get_latest_materialization_event(neo4j_similarity.key)
    recorded = (
        event.asset_materialization.metadata.get("score_threshold") if event and event.asset_materialization else None
    )
    threshold = float(recorded.value) if recorded is not None else _similarity_threshold(context, 0.0)
    expected = {"SIMILAR_TO": model.similar_to_rels(similar_movies, threshold).height}
    result = _compare(expected, _counts(neo4j), _duplicates(neo4j, model.SIMILAR_TO))
    with neo4j.driver() as driver, neo4j.translate_errors("reading SIMILAR_TO scores"):
        with loader.session(driver, neo4j.database) as s:
            record = s.run(
                "MATCH ()-[r:SIMILAR_TO]->() RETURN min(r.score) AS lowest, "
                "count(CASE WHEN r.score IS NULL OR r.score < $t THEN 1 END) AS below",
                t=threshold,
            ).single(strict=True)
    below = int(record["below"])
    metadata = dict(result.metadata or {})
    metadata.update({"threshold": threshold, "lowest_score": record["lowest"], "scores_below_threshold": below})
    if below:
        problem = f"- {below:,} SIMILAR_TO edge(s) score below {threshold}"
        earlier = metadata.get("problems")
        metadata["problems"] = dg.MetadataValue.md(f"{earlier.value}\n{problem}" if earlier else problem)
    return dg.AssetCheckResult(passed=result.passed and not below, metadata=metadata)


@dg.asset_check(
    asset=neo4j_platforms,
    blocking=True,
    description="Platform and AVAILABLE_ON counts equal what platform_availability implies; no parallel edges.",
    additional_ins={"platform_availability": dg.AssetIn("platform_availability")},
)
def platform_graph_matches_availability(
    neo4j: Neo4jResource, platform_availability: pl.DataFrame
) -> dg.AssetCheckResult:
    expected = {
        "Platform": model.platform_nodes(platform_availability).height,
        "AVAILABLE_ON": model.available_on_rels(platform_availability).height,
    }
    return _compare(expected, _counts(neo4j), _duplicates(neo4j, model.AVAILABLE_ON))


@dg.asset_check(
    asset=neo4j_import_files,
    blocking=True,  # neo4j_bulk_import must not build a database from incomplete files
    description=(
        "Every import file is there with its neo4j-admin header, and the node and RATED files hold as "
        "many rows as movies, genres, profiles and ratings imply (counted from the files on disk)."
    ),
    additional_ins={
        "movies": dg.AssetIn("movies"),
        "user_profiles": dg.AssetIn("user_profiles"),
        "ratings": dg.AssetIn("ratings"),
    },
)
def import_files_complete(
    movies: pl.DataFrame, user_profiles: pl.DataFrame, ratings: pl.LazyFrame
) -> dg.AssetCheckResult:
    folder = data_dir() / "neo4j-import"
    problems, actual_rows = import_files_problems(folder, movies, user_profiles, ratings)
    metadata = {f"rows_{k}": v for k, v in actual_rows.items()}
    metadata["folder"] = dg.MetadataValue.path(str(folder))
    if problems:
        metadata["problems"] = dg.MetadataValue.md("\n".join(f"- {p}" for p in problems))
    return dg.AssetCheckResult(passed=not problems, metadata=metadata)


def import_files_problems(
    folder, movies: pl.DataFrame, user_profiles: pl.DataFrame, ratings: pl.LazyFrame | pl.DataFrame
) -> tuple[list[str], dict[str, int]]:
    """What is wrong with the import folder (missing files, headers, row counts), and the rows found."""
    expected_rows = {
        "movies.csv": model.movie_nodes(movies).height,
        "genres.csv": model.genre_nodes(movies).height,
        "users.csv": model.user_nodes(user_profiles).height,
        "has_genre.csv": model.has_genre_rels(movies).height,
        "rated.csv": ratings.lazy().select(pl.len()).collect().item(),
    }
    problems = []
    for label, name in import_files.NODE_FILES.items():
        problems += _import_file_problems(folder / name, f":ID({label})")
    for name in import_files.REL_FILES.values():
        problems += _import_file_problems(folder / name, ":START_ID(")
    if not (folder / "import.sh").is_file():
        problems.append("import.sh (the documented command) is missing")
    actual_rows = {}
    for name, want in expected_rows.items():
        if (folder / name).is_file():
            actual_rows[name] = pl.scan_csv(folder / name, infer_schema=False).select(pl.len()).collect().item()
            if actual_rows[name] != want:
                problems.append(f"{name}: {actual_rows[name]:,} rows, upstream implies {want:,}")
    return problems, actual_rows


def _import_file_problems(path, header_token: str) -> list[str]:
    if not path.is_file():
        return [f"{path.name} is missing"]
    with open(path, encoding="utf-8") as handle:
        header = handle.readline()
    return [] if header_token in header else [f"{path.name}: header {header.strip()!r} lacks {header_token}"]


CHECKS = [
    import_files_complete,
    bulk_import_left_the_graph,
    uniqueness_constraints_exist,
    movie_graph_matches_movies,
    tag_graph_matches_genome,
    user_nodes_match_profiles,
    rated_edges_match_ratings,
    user_traversal_returns_rows,
    similar_edges_match_and_meet_threshold,
    platform_graph_matches_availability,
]
