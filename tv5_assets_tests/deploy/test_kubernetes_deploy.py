"""The Kubernetes deployment without a cluster: deploy/Dockerfile, deploy/helm/values.yaml,
deploy/k8s/, deploy/docker-compose.yml parsed and checked against pyproject.toml and the code, and
every step of `build_everything` rendered into the Kubernetes Job dagster-k8s would launch for it.

The render follows `k8s_job_executor`'s own merge: the run launcher's settings, then the code
location's (the chart's includeConfigInLaunchedRuns: env, volumes, resources), then the executor's
`step_k8s_config` (tv5_assets/k8s.py STEP_DEFAULTS), then the step's `dagster-k8s/config` tag, and
builds the Job with dagster-k8s' `construct_dagster_k8s_job`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import (
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
    get_user_defined_k8s_config,
)

from tv5_assets import k8s
from tv5_assets.registry import ENDPOINTS

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
VALUES = DEPLOY / "helm" / "values.yaml"
GPU_STEPS = {"media_embeddings", "similar_movies"}
A100_SELECTOR = {"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def pinned(package: str) -> str:
    """The exact version pyproject.toml pins `package` to (`name==x.y.z`)."""
    for requirement in pyproject()["project"]["dependencies"]:
        name, _, version = requirement.partition("==")
        if name.strip() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned with == in pyproject.toml")


def lower_bound(package: str) -> tuple[int, ...]:
    for requirement in pyproject()["project"]["dependencies"]:
        match = re.fullmatch(rf"{re.escape(package)}(?:\[[^]]*\])?>=([\d.]+)", requirement)
        if match:
            return tuple(int(part) for part in match.group(1).split("."))
    raise AssertionError(f"no >= bound for {package} in pyproject.toml")


@cache
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def code_location() -> dict[str, Any]:
    (deployment,) = values()["dagster-user-deployments"]["deployments"]
    return deployment


def env_entries() -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in code_location()["env"]}


# ----------------------------------------------------------------------------- the tag rule
def test_the_tag_rule_gives_the_a100_settings_to_a100_steps_only() -> None:
    assert k8s.k8s_config({}) == {} and k8s.k8s_config({"tv5/cpu": "heavy"}) == {}
    config = k8s.k8s_config({k8s.EXECUTOR_TAG: "a100"})
    assert config["pod_spec_config"] == {"node_selector": A100_SELECTOR, "tolerations": [GPU_TOLERATION]}
    assert config["container_config"]["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert k8s.with_pod_config({"x": "1"}) == {"x": "1"}
    assert k8s.with_pod_config({k8s.EXECUTOR_TAG: "a100"})[k8s.K8S_CONFIG_TAG] == config
    with pytest.raises(ValueError, match="a100"):
        k8s.k8s_config({k8s.EXECUTOR_TAG: "h100"})


def test_the_executor_follows_tv5_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    import dagster as dg
    from dagster._config import validate_config
    from dagster_k8s import k8s_job_executor

    local = dg.in_process_executor
    for value in ("", "local"):
        monkeypatch.setenv(k8s.EXECUTOR_ENV_VAR, value)
        assert k8s.executor_for_environment(local) is local
    monkeypatch.setenv(k8s.EXECUTOR_ENV_VAR, "k8s")
    assert k8s.executor_for_environment(local).name == "tv5_k8s"
    monkeypatch.setenv(k8s.EXECUTOR_ENV_VAR, "celery")
    with pytest.raises(ValueError, match="TV5_EXECUTOR"):
        k8s.executor_for_environment(local)
    checked = validate_config(k8s_job_executor.config_schema.config_type, k8s.CLUSTER_EXECUTOR_CONFIG)
    assert checked.success, checked.errors


@pytest.mark.slow
def test_the_code_location_runs_steps_as_pods_under_tv5_executor_k8s() -> None:
    script = (
        "from tv5_assets.definitions import defs; print(defs().resolve_job_def('build_everything').executor_def.name)"
    )
    env = {**os.environ, k8s.EXECUTOR_ENV_VAR: "k8s", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "tv5_k8s"


# ----------------------------------------------------------------------------- step pods
def _camel_to_snake(config: dict[str, Any]) -> dict[str, Any]:
    return {re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower(): value for key, value in config.items()}


def chart_container_context() -> K8sContainerContext:
    """What the chart hands runs: the run launcher's settings, then the code location's."""
    launcher = values()["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s_config = _camel_to_snake(launcher.get("runK8sConfig") or {})
    location = code_location()
    from_location = {
        "env": location["env"],
        "volumes": location["volumes"],
        "volume_mounts": location["volumeMounts"],
        "resources": location["resources"],
    }
    return K8sContainerContext(run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(run_k8s_config)).merge(
        K8sContainerContext.create_from_config({"k8s": from_location})
    )


def render_step_pod(step_key: str, tags: dict[str, str]):
    """The pod spec of the Kubernetes Job `k8s_job_executor` would create for this step."""
    context = (
        chart_container_context()
        .merge(K8sContainerContext(run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(k8s.STEP_DEFAULTS)))
        .merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(tags)))
    )
    job_config = DagsterK8sJobConfig(
        job_image="registry.example/tv5-assets:test",
        dagster_home=values()["global"]["dagsterHome"],
        instance_config_map="tv5-dagster-instance",
        postgres_password_secret=values()["global"]["postgresqlSecretName"],
    )
    job = construct_dagster_k8s_job(
        job_config=job_config,
        args=["dagster", "api", "execute_step"],
        job_name=f"dagster-step-{abs(hash(step_key))}",
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
    )
    return job.spec.template.spec


@pytest.fixture(scope="module")
def step_pods() -> dict[str, Any]:
    from dagster._core.execution.api import create_execution_plan

    from tv5_assets.definitions import defs

    plan = create_execution_plan(defs().resolve_job_def("build_everything"))
    return {step.key: render_step_pod(step.key, dict(step.tags)) for step in plan.get_all_steps_in_topo_order()}


def _gpu_parts(pod) -> dict[str, Any]:
    (container,) = pod.containers
    resources = container.resources
    return {
        "node_selector": pod.node_selector or {},
        "tolerations": [t.to_dict() for t in pod.tolerations or []],
        "gpu": (resources.limits or {}).get("nvidia.com/gpu"),
    }


@pytest.mark.slow
def test_only_the_gpu_steps_get_a100_pods(step_pods: dict[str, Any]) -> None:
    from tv5_assets.definitions import defs

    tagged = {
        spec.key.to_user_string()
        for spec in defs().resolve_all_asset_specs()
        if spec.tags.get("tv5/executor") == "a100"
    }
    assert tagged == GPU_STEPS  # the asset tags say the same as the step tags
    assert len(step_pods) > 100
    for key, pod in step_pods.items():
        parts = _gpu_parts(pod)
        if key in GPU_STEPS:
            assert parts["node_selector"] == A100_SELECTOR, key
            assert [{k: v for k, v in t.items() if v is not None} for t in parts["tolerations"]] == [GPU_TOLERATION]
            assert parts["gpu"] == "1", key  # a Kubernetes quantity
        else:
            assert parts == {"node_selector": {}, "tolerations": [], "gpu": None}, key


@pytest.mark.slow
def test_every_step_pod_gets_the_stores_the_data_volume_and_its_resources(step_pods: dict[str, Any]) -> None:
    mount = env_entries()["TV5_DATA_DIR"]["value"]
    for key, pod in step_pods.items():
        (container,) = pod.containers
        names = {variable.name for variable in container.env}
        assert {endpoint.env_var for endpoint in ENDPOINTS.values()} <= names, key
        assert {"TV5_EXECUTOR", "TV5_DATA_DIR", "DAGSTER_HOME", "DAGSTER_PG_PASSWORD"} <= names, key
        assert [m.mount_path for m in container.volume_mounts] == [mount], key
        requests = container.resources.requests
        want = (
            k8s.A100_POOL.requests
            if key in GPU_STEPS
            else k8s.STEP_DEFAULTS["container_config"]["resources"]["requests"]
        )
        assert {name: requests[name] for name in ("cpu", "memory")} == dict(want), key


# ----------------------------------------------------------------------------- the Helm values
def test_helm_values_pin_the_projects_dagster_release() -> None:
    dagster = pinned("dagster")
    assert values()["dagsterWebserver"]["image"]["tag"] == dagster
    assert values()["dagsterDaemon"]["image"]["tag"] == dagster
    assert f"--version {dagster}" in VALUES.read_text()
    deployment_page = (REPO_ROOT / "docs" / "deployment.md").read_text()
    assert f"dagster/dagster --version {dagster}" in deployment_page
    assert code_location()["image"]["tag"] == pyproject()["project"]["version"]
    assert pinned("dagster-postgres") == pinned("dagster-k8s")
    assert pinned("dagster-k8s").split(".")[2] == dagster.split(".")[2]  # 0.29.27 goes with 1.13.27


def test_helm_values_use_k8s_runs_steps_and_postgres_storage() -> None:
    assert values()["runLauncher"]["type"] == "K8sRunLauncher"
    assert env_entries()[k8s.EXECUTOR_ENV_VAR]["value"] == "k8s"
    location = code_location()
    assert location["codeServerArgs"] == ["-m", pyproject()["tool"]["dagster"]["module_name"]]
    assert location["includeConfigInLaunchedRuns"] == {"enabled": True}
    postgresql = values()["postgresql"]
    assert postgresql["enabled"] is False and postgresql["postgresqlHost"]
    assert postgresql["postgresqlScheme"] == "postgresql+psycopg2"
    assert "postgresqlPassword" not in postgresql and values()["generatePostgresqlPasswordSecret"] is False
    local_pools = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())["concurrency"]["pools"]
    assert values()["concurrency"]["pools"]["defaultLimit"] == local_pools["default_limit"]


def test_helm_values_put_no_placement_on_pods_every_step_inherits() -> None:
    """A node selector or toleration on the code location or run launcher reaches every step pod."""
    placement = {"nodeSelector", "tolerations", "affinity"}
    assert not placement & set(code_location())
    launcher = values()["runLauncher"]["config"]["k8sRunLauncher"]
    assert not placement & set((launcher.get("runK8sConfig") or {}).get("podSpecConfig") or {})


def test_helm_values_set_the_variables_the_code_reads_with_secrets_from_a_secret() -> None:
    read_by_code = set()
    for path in (REPO_ROOT / "tv5_assets").rglob("*.py"):
        read_by_code |= set(re.findall(r"\bTV5_[A-Z0-9_]+\b", path.read_text()))
    entries = env_entries()
    assert set(entries) <= read_by_code, set(entries) - read_by_code
    for endpoint in ENDPOINTS.values():
        assert endpoint.env_var in entries, endpoint.env_var
        assert {name for name, _ in endpoint.extra_vars} <= set(entries), endpoint.store
    secret_names = {name for name in entries if re.search("PASSWORD|TOKEN", name)} | {
        "TV5_POSTGRES_URL",
        "TV5_REDIS_URL",
    }
    for name in secret_names:
        assert "value" not in entries[name], name
        ref = entries[name]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "tv5-stores", "key": name, **({"optional": True} if "TOKEN" in name else {})}


def test_the_data_volume_is_shared_by_all_pods() -> None:
    claim = yaml.safe_load((DEPLOY / "k8s" / "tv5-data-pvc.yaml").read_text())
    location = code_location()
    (volume,) = location["volumes"]
    (mount,) = location["volumeMounts"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # steps on several nodes at once
    assert mount["name"] == volume["name"] and mount["mountPath"] == env_entries()["TV5_DATA_DIR"]["value"]
    assert env_entries()["TV5_MOVIELENS_DIR"]["value"].startswith(mount["mountPath"] + "/")


# ----------------------------------------------------------------------------- the image
def dockerfile_args() -> dict[str, str]:
    text = (DEPLOY / "Dockerfile").read_text()
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))


def test_the_image_installs_the_pinned_dagster_release() -> None:
    args = dockerfile_args()
    assert args["DAGSTER_VERSION"] == pinned("dagster")
    assert args["DAGSTER_LIBRARIES_VERSION"] == pinned("dagster-postgres") == pinned("dagster-k8s")
    assert args["TORCH_VARIANT"] == "cpu"
    required = re.fullmatch(r">=(\d+)\.(\d+)", pyproject()["project"]["requires-python"])
    assert tuple(map(int, args["PYTHON_VERSION"].split("."))) >= tuple(map(int, required.groups()))
    text = (DEPLOY / "Dockerfile").read_text()
    assert f"TV5_DATA_DIR={env_entries()['TV5_DATA_DIR']['value']}" in text
    assert '"code-server", "start"' in text and '"-m", "tv5_assets"' in text
    # In place beside pyproject.toml: dg.load_from_defs_folder finds the defs folder through it.
    assert "COPY pyproject.toml" in text and "pip install -e ." in text


# ----------------------------------------------------------------------------- docker compose
def test_the_compose_stores_are_pinned_match_the_clients_and_keep_passwords_out() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest", name
    tag = {name: services[name]["image"].rpartition(":")[2].lstrip("v") for name in ("milvus", "neo4j")}
    assert tuple(map(int, tag["milvus"].split(".")[:2])) == lower_bound("pymilvus")[:2]
    assert int(tag["neo4j"].split(".")[0]) == lower_bound("neo4j")[0]
    published = {
        name: {int(port.rsplit(":", 1)[1]) for port in services[name].get("ports", [])}
        for name in ("postgres", "redis", "neo4j")
    }
    for store in ("postgres", "redis", "neo4j"):
        assert ENDPOINTS[store].default_port in published[store], store
    secrets = [services["postgres"]["environment"]["POSTGRES_PASSWORD"], services["neo4j"]["environment"]["NEO4J_AUTH"]]
    assert all(re.search(r"\$\{TV5_\w+:\?", value) for value in secrets), secrets
