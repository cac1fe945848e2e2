"""Loads into the real Neo4j over Bolt: contents, idempotency, a failure half-way, the Dagster
assets and their checks (including an emptied server), and the errors users see."""

from __future__ import annotations

import os
import socket

import dagster as dg
import neo4j
import polars as pl
import pytest
from neo4j_frames import wipe

from tv5_assets.defs.neo4j import graph_parts
from tv5_assets.defs.neo4j.assets import ASSETS
from tv5_assets.defs.neo4j.checks import CHECKS
from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.io_managers import Tv5IOManager
from tv5_assets.resources.neo4j import Neo4jResource
from tv5_assets.stores.neo4j import bulk_import, loader, model
from tv5_assets_tests.conftest import require_service

DB = "neo4j"
pytestmark = pytest.mark.services


def fingerprint(driver: neo4j.Driver) -> dict[str, list]:
    """Every node of the model with its properties and every edge with its endpoints' keys and
    properties, sorted: two equal fingerprints mean the same graph."""
    out: dict[str, list] = {}
    with loader.session(driver, DB) as s:
        for node in model.NODES:
            rows = s.run(f"MATCH (n:{node.label}) RETURN properties(n) AS p").value()
            out[node.label] = sorted(sorted(p.items()) for p in rows)
        for rel in model.RELATIONSHIPS:
            rows = s.run(
                f"MATCH (a:{rel.source.label})-[r:{rel.type}]->(b:{rel.target.label}) "
                f"RETURN a.{rel.source.key} AS a, b.{rel.target.key} AS b, properties(r) AS p"
            ).data()
            out[rel.type] = sorted((r["a"], r["b"], sorted(r["p"].items())) for r in rows)
    return out


def counts(driver: neo4j.Driver) -> dict[str, int]:
    return {**loader.label_counts(driver, DB), **loader.relationship_counts(driver, DB)}


def expected_counts(frames: dict) -> dict[str, int]:
    return {
        "Movie": frames["movies"].height,
        "Genre": model.genre_nodes(frames["movies"]).height,
        "User": frames["user_profiles"].height,
        "Tag": frames["genome_tags"].height,
        "Platform": model.platform_nodes(frames["platform_availability"]).height,
        "HAS_GENRE": model.has_genre_rels(frames["movies"]).height,
        "RATED": frames["ratings"].height,
        "HAS_TAG": model.has_tag_rels(frames["movie_genome"]).height,
        "SIMILAR_TO": frames["similar_movies"].height,
        "AVAILABLE_ON": frames["platform_availability"].height,
    }


def test_load_builds_the_graph_the_upstream_tables_imply(empty_graph, frames):
    stats = graph_parts.load_graph(empty_graph, DB, frames, batch_size=64)
    assert counts(empty_graph) == expected_counts(frames)
    assert all(s.skipped == 0 for s in stats)
    rating = frames["ratings"].row(17, named=True)
    movie = frames["movies"].filter(pl.col("movie_id") == rating["movie_id"]).row(0, named=True)
    with loader.session(empty_graph, DB) as s:
        edge = s.run(
            "MATCH (u:User {user_id: $u})-[r:RATED]->(m:Movie {media_id: $m}) RETURN r.score AS score, "
            "r.timestamp AS ts, m.title AS title, m.genres AS genres, m.year AS year",
            u=f"user_{rating['user_id']:08d}",
            m=f"ml_{rating['movie_id']}",
        ).single(strict=True)
        assert edge["score"] == pytest.approx(rating["rating"])
        assert edge["ts"] == int(rating["timestamp"].timestamp())
        assert (edge["title"], edge["genres"], edge["year"]) == (movie["title"], movie["genres"], movie["year"])
        available = s.run(
            "MATCH (:Movie)-[a:AVAILABLE_ON]->(p:Platform {platform_id: 'tv5monde'}) RETURN a.quality AS q, p.type AS t LIMIT 1"
        ).single(strict=True)
        assert available["t"] == "free" and set(available["q"]) <= {"HD", "4K"}
        # The plan's benchmark traversal.
        rows = s.run(
            "MATCH (u:User {user_id: 'user_00000001'})-[:RATED]->(m:Movie)-[:HAS_GENRE]->(g:Genre) RETURN m, g"
        ).data()
        assert rows
    assert loader.existing_uniqueness(empty_graph, DB) >= {(n.label, n.key) for n in model.NODES}


def test_second_load_leaves_exactly_the_same_graph_and_follows_upstream_changes(empty_graph, frames):
    graph_parts.load_graph(empty_graph, DB, frames, batch_size=64)
    first = fingerprint(empty_graph)
    graph_parts.load_graph(empty_graph, DB, frames, batch_size=1000)
    assert fingerprint(empty_graph) == first
    assert {r.type: loader.duplicate_relationships(empty_graph, DB, r) for r in model.RELATIONSHIPS} == dict.fromkeys(
        [r.type for r in model.RELATIONSHIPS], 0
    )

    # Upstream changes: one rating re-scored, one dropped, a user gone, a movie loses its genres.
    ratings = frames["ratings"]
    changed = dict(frames)
    changed["ratings"] = (
        ratings.slice(1)
        .with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(0.5)).otherwise(pl.col("rating")).alias("rating")
        )
        .filter(pl.col("user_id") != 20)
    )
    changed["user_profiles"] = frames["user_profiles"].filter(pl.col("user_id") != 20)
    changed["movies"] = frames["movies"].with_columns(
        pl.when(pl.col("movie_id") == 3)
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("genres"))
        .alias("genres")
    )
    graph_parts.load_graph(empty_graph, DB, changed, batch_size=64)
    over_old = fingerprint(empty_graph)
    assert not [e for e in over_old["RATED"] if e[0] == "user_00000020"]
    assert "user_00000020" not in {dict(p)["user_id"] for p in over_old["User"]}
    assert not [e for e in over_old["HAS_GENRE"] if e[0] == "ml_3"]
    assert over_old == fingerprint_after_fresh_load(empty_graph, changed)


def fingerprint_after_fresh_load(driver: neo4j.Driver, frames: dict) -> dict[str, list]:
    wipe(driver, DB)
    graph_parts.load_graph(driver, DB, frames, batch_size=64)
    return fingerprint(driver)


def test_failure_half_way_never_splits_a_user_and_a_rerun_converges(empty_graph, frames):
    old = dict(frames, ratings=frames["ratings"].with_columns(pl.lit(1.0, pl.Float32).alias("rating")))
    graph_parts.load_graph(empty_graph, DB, old, batch_size=64)

    class Interrupted(Exception):
        pass

    def fail_after_second_batch(batch: int, done: int, total: int) -> None:
        if batch == 1:
            raise Interrupted(f"stopped after {done} of {total} rows")

    with pytest.raises(Interrupted):
        graph_parts.load_ratings(empty_graph, DB, frames["ratings"], batch_size=40, on_batch=fail_after_second_batch)
    with loader.session(empty_graph, DB) as s:
        per_user = s.run(
            "MATCH (u:User)-[r:RATED]->() RETURN u.user_id AS user, collect(r.score) AS scores ORDER BY user"
        ).data()
    # Every user holds either all its old ratings (all 1.0) or all its new ones: never a mix.
    new = frames["ratings"].group_by("user_id").agg(pl.col("rating").sort()).sort("user_id")
    new_scores = {f"user_{u:08d}": s for u, s in new.iter_rows()}
    replaced = 0
    for row in per_user:
        if sorted(row["scores"]) == pytest.approx(new_scores[row["user"]]) and set(row["scores"]) != {1.0}:
            replaced += 1
        else:
            assert set(row["scores"]) == {1.0}, f"{row['user']} holds a mix of old and new ratings"
    assert 0 < replaced < len(per_user)
    assert counts(empty_graph)["RATED"] == frames["ratings"].height

    graph_parts.load_ratings(empty_graph, DB, frames["ratings"], batch_size=40)
    after_rerun = fingerprint(empty_graph)
    assert after_rerun == fingerprint_after_fresh_load(empty_graph, frames)


def _materialize(selection, resource: Neo4jResource, assets_dir, raise_on_error: bool = True, run_config=None):
    upstream = [
        dg.AssetSpec(name)
        for name in (
            "movies",
            "genome_tags",
            "movie_genome",
            "user_profiles",
            "ratings",
            "similar_movies",
            "platform_availability",
        )
    ]
    return dg.materialize(
        [*upstream, *ASSETS, *CHECKS],
        selection=selection,
        resources={"neo4j": resource, "io_manager": Tv5IOManager(base_dir=str(assets_dir))},
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def test_assets_load_the_graph_and_checks_catch_an_emptied_server(empty_graph, graph_resource, stored_frames, frames):
    group = dg.AssetSelection.groups("neo4j") - dg.AssetSelection.assets("neo4j_import_files")
    small_chunks = {"ops": {"neo4j_ratings": {"config": {"batch_size": 1000, "chunk_rows": 100}}}}
    result = _materialize(group, graph_resource, stored_frames, run_config=small_chunks)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    live_checks = [c for c in CHECKS if all(k.asset_key != dg.AssetKey("neo4j_import_files") for k in c.check_keys)]
    assert len(evaluations) == len(live_checks)
    assert all(e.passed for e in evaluations), [(e.check_name, e.metadata) for e in evaluations if not e.passed]
    assert counts(empty_graph) == expected_counts(frames)
    ratings_event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("neo4j_ratings")
    )
    assert ratings_event.materialization.metadata["rated"].value == frames["ratings"].height
    # The UI's row count: the nodes plus relationships each load wrote (RATED only, for neo4j_ratings).
    assert ratings_event.materialization.metadata["dagster/row_count"].value == frames["ratings"].height
    movies_metadata = _metadata(result, "neo4j_movies")
    written = movies_metadata["movies"] + movies_metadata["genres"] + movies_metadata["has_genre"]
    assert movies_metadata["dagster/row_count"] == written > 0

    # The server loses its data behind materialized assets: the checks must say so.
    with loader.session(empty_graph, DB) as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    checks_only = _materialize(
        dg.AssetSelection.checks_for_assets(*[a for a in ASSETS if a.key != dg.AssetKey("neo4j_import_files")]),
        graph_resource,
        stored_frames,
        raise_on_error=False,
    )
    failed = {e.check_name: e for e in checks_only.get_asset_check_evaluations() if not e.passed}
    assert {"movie_graph_matches_movies", "rated_edges_match_ratings", "user_traversal_returns_rows"} <= set(failed)
    assert "data was removed" in failed["movie_graph_matches_movies"].metadata["problems"].value


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_stopped_server_gives_an_error_naming_the_address_and_what_to_do():
    port = _closed_port()
    resource = Neo4jResource(uri=f"bolt://127.0.0.1:{port}", password="s3cret-never-shown", connection_timeout_s=3)
    with pytest.raises(ServiceUnavailableError) as raised:
        with resource.driver():
            pass
    message = str(raised.value)
    assert f"bolt://127.0.0.1:{port}" in message and "tv5 services up" in message
    assert "s3cret-never-shown" not in message


def test_a_missing_database_is_named(graph_driver, graph_resource):
    resource = Neo4jResource(uri=graph_resource.uri, password=graph_resource.password, database="nosuchdb")
    with pytest.raises(ServiceUnavailableError, match="database does not exist"):
        with resource.driver():
            pass


NEVER_IMPORT = {"ops": {"neo4j_bulk_import": {"config": {"mode": "never"}}}}
ANY_SIZE = {"ops": {"neo4j_bulk_import": {"config": {"min_graph_size": 0}}}}
# The data folder of the stack the tests run on, read before any fixture points TV5_DATA_DIR at a
# private folder: the bulk import may only stop a server started from it.
STACK_DATA_DIR = os.environ.get("TV5_DATA_DIR")
# What the bulk import writes; SIMILAR_TO is left to neo4j_similarity (online, after the embeddings).
BULK_WRITTEN_ASSETS = (
    "neo4j_movies",
    "neo4j_movie_tags",
    "neo4j_users",
    "neo4j_ratings",
    "neo4j_platforms",
)


def _metadata(result, asset: str) -> dict:
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset))
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_a_fresh_database_is_bulk_imported_into_the_graph_the_online_load_builds(
    empty_graph, graph_resource, stored_frames, frames, monkeypatch: pytest.MonkeyPatch
):
    """neo4j-admin import on an empty local database: same graph as the online load, node for node,
    property for property; on tv5's own graph (a rebuild) it imports again, carrying SIMILAR_TO over;
    on a graph that holds data of others the step stands aside, naming it, and the load is online."""
    if STACK_DATA_DIR:
        monkeypatch.setenv("TV5_DATA_DIR", STACK_DATA_DIR)
    if bulk_import.managed_local_server(graph_resource.uri) is None:
        require_service("neo4j (tv5's local server, which this test stops and starts)", _raise_not_managed)
    everything = dg.AssetSelection.groups("neo4j")
    online = _materialize(everything, graph_resource, stored_frames, run_config=NEVER_IMPORT)
    assert online.success and _metadata(online, "neo4j_bulk_import") == {
        "imported": False,
        "reason": "mode: never",
        "dagster/row_count": 0,
        "neo4j_address": graph_resource.address,
    }
    reference = fingerprint(empty_graph)
    try:
        with loader.session(empty_graph, DB) as s:  # a fresh database: not even the tests' marker node
            s.run("MATCH (n) DETACH DELETE n").consume()
        small = _materialize(everything, graph_resource, stored_frames)  # the test graph is tiny: online
        assert small.success and _metadata(small, "neo4j_bulk_import")["imported"] is False
        assert "under min_graph_size" in _metadata(small, "neo4j_bulk_import")["reason"]
        with loader.session(empty_graph, DB) as s:
            s.run("MATCH (n) DETACH DELETE n").consume()
        bulk = _materialize(everything, graph_resource, stored_frames, run_config=ANY_SIZE)
        assert bulk.success
        imported = _metadata(bulk, "neo4j_bulk_import")
        assert imported["imported"] is True
        assert imported["dagster/row_count"] == imported["nodes_and_relationships"] > 0
        assert all(_metadata(bulk, a)["written_by"] == "neo4j_bulk_import" for a in BULK_WRITTEN_ASSETS)
        similarity = _metadata(bulk, "neo4j_similarity")
        assert "written_by" not in similarity and similarity["similar_to"] > 0  # loaded online
        assert _metadata(bulk, "neo4j_ratings")["dagster/row_count"] == _metadata(bulk, "neo4j_ratings")["rated"]
        failed = [(e.check_name, e.metadata) for e in bulk.get_asset_check_evaluations() if not e.passed]
        assert failed == []
        with neo4j.GraphDatabase.driver(graph_resource.uri, auth=graph_resource._auth()) as restarted:
            assert fingerprint(restarted) == reference
            assert counts(restarted) == expected_counts(frames)

        rebuilt = _materialize(everything, graph_resource, stored_frames, run_config=ANY_SIZE)  # tv5's own graph
        assert rebuilt.success
        again = _metadata(rebuilt, "neo4j_bulk_import")
        assert again["imported"] is True and again["reason"] == "tv5's own graph, rebuilt on the local server"
        assert again["carried_similar_to"] == _metadata(bulk, "neo4j_similarity")["similar_to"] > 0
        assert [(e.check_name, e.metadata) for e in rebuilt.get_asset_check_evaluations() if not e.passed] == []
        with neo4j.GraphDatabase.driver(graph_resource.uri, auth=graph_resource._auth()) as restarted:
            assert fingerprint(restarted) == reference
            with loader.session(restarted, DB) as s:  # someone else's data in the same database
                s.run("CREATE (:SomeoneElse {note: 'not tv5'})").consume()
            theirs = _materialize(everything, graph_resource, stored_frames, run_config=ANY_SIZE)
            assert theirs.success
            assert _metadata(theirs, "neo4j_bulk_import")["reason"] == (
                "the database holds data tv5 does not write (label SomeoneElse); the import would replace it"
            )
            assert "written_by" not in _metadata(theirs, "neo4j_ratings")  # loaded online, around their node
            with loader.session(restarted, DB) as s:
                assert s.run("MATCH (n:SomeoneElse) DELETE n RETURN count(n) AS n").single()["n"] == 1
            assert fingerprint(restarted) == reference
    finally:
        _drop_dead_connections(empty_graph)  # the server restarted under the session's shared driver
        wipe(empty_graph, DB)  # leave the tests' marker for the next test


def _raise_not_managed() -> None:
    raise RuntimeError(
        f"the Neo4j at {STACK_DATA_DIR or 'the default data folder'} was not started by `tv5 services up`"
    )


def _drop_dead_connections(driver: neo4j.Driver, attempts: int = 5) -> None:
    """Pooled connections to a restarted server fail once (the driver then drops them all); use them up
    before other tests run. A plain session carries no bookmark from the replaced database."""
    for _ in range(attempts):
        try:
            with driver.session(database=DB) as session:
                session.run("RETURN 1").consume()
            return
        except (neo4j.exceptions.DriverError, neo4j.exceptions.Neo4jError):
            continue
