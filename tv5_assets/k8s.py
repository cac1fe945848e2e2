"""Where each step runs on Kubernetes: the one rule from a step's tags to its pod, and the executor.

A step tagged `tv5/executor: a100` (the GPU steps of the embeddings group) gets a pod on the A100
node pool: the pool's node selector, a toleration for the GPU nodes' taint and one `nvidia.com/gpu`.
Every other step gets none of these: the GPU nodes are tainted, so the scheduler keeps those steps
on the CPU nodes. `with_pod_config(tags)` writes the rule into the op tag `dagster-k8s/config`,
which dagster-k8s' `k8s_job_executor` reads when it launches the step's pod; the assets call it
rather than spelling the pod settings out, so the rule lives here and only here.

On a cluster the code location runs with `TV5_EXECUTOR=k8s` (deploy/helm/values.yaml): the jobs'
executor becomes `k8s_job_executor` (one pod per step, CPU steps with `STEP_DEFAULTS`), otherwise
the local executor given to `executor_for_environment` stays. dagster-k8s is imported only then,
so the code location imports as fast as before on one machine. docs/deployment.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg

EXECUTOR_TAG = "tv5/executor"  # the step's node pool; absent: the CPU nodes
K8S_CONFIG_TAG = "dagster-k8s/config"  # dagster_k8s.job.USER_DEFINED_K8S_CONFIG_KEY
EXECUTOR_ENV_VAR = "TV5_EXECUTOR"  # "k8s" on the cluster; unset, "" or "local" on one machine


@dataclass(frozen=True)
class NodePool:
    """A pool of accelerator nodes a step can ask for with `tv5/executor: <name>`."""

    name: str
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, str], ...]
    limits: Mapping[str, Any]  # extended resources (the GPU); CPU and memory come from STEP_DEFAULTS
    requests: Mapping[str, str] = field(default_factory=dict)

    def k8s_config(self) -> dict[str, Any]:
        """The `dagster-k8s/config` value for a step on this pool (container resources, pod placement)."""
        resources: dict[str, Any] = {"limits": dict(self.limits)}
        if self.requests:
            resources["requests"] = dict(self.requests)
        return {
            "container_config": {"resources": resources},
            "pod_spec_config": {
                "node_selector": dict(self.node_selector),
                "tolerations": [dict(toleration) for toleration in self.tolerations],
            },
        }


# GKE labels every node of an accelerator pool with its GPU model and taints GPU nodes with
# `nvidia.com/gpu=present:NoSchedule`; on another cloud, label and taint the A100 pool the same way
# (or change these two lines: nothing else names them).
A100_POOL = NodePool(
    name="a100",
    node_selector={"cloud.google.com/gke-accelerator": "nvidia-tesla-a100"},
    tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
    limits={"nvidia.com/gpu": 1},
    requests={"cpu": "4", "memory": "16Gi"},
)
NODE_POOLS = {pool.name: pool for pool in (A100_POOL,)}

# Every step pod of `k8s_job_executor` (the GPU steps' settings are merged over these): the CPU
# nodes' share for one step. The encoder and the bulk store loads are the large ones.
STEP_DEFAULTS: dict[str, Any] = {
    "container_config": {"resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "16Gi"}}},
}


def k8s_config(tags: Mapping[str, Any]) -> dict[str, Any]:
    """The `dagster-k8s/config` a step with these tags needs: its node pool's settings, or {} (CPU)."""
    name = tags.get(EXECUTOR_TAG)
    if name is None:
        return {}
    pool = NODE_POOLS.get(str(name))
    if pool is None:
        known = ", ".join(sorted(NODE_POOLS))
        raise ValueError(f"unknown node pool {EXECUTOR_TAG}={name!r}: use one of {known}, or no tag for CPU nodes")
    return pool.k8s_config()


def with_pod_config(tags: Mapping[str, Any]) -> dict[str, Any]:
    """`tags` plus the `dagster-k8s/config` tag their executor tag asks for (unchanged for CPU steps)."""
    config = k8s_config(tags)
    return {**tags, K8S_CONFIG_TAG: config} if config else dict(tags)


# Step pods one run keeps at once: enough for the graph's widest layer (the store loads and the
# synthetic tables), few enough that one run does not ask the autoscaler for dozens of nodes.
MAX_STEP_PODS_PER_RUN = 16
CLUSTER_EXECUTOR_CONFIG = {"step_k8s_config": STEP_DEFAULTS, "max_concurrent": MAX_STEP_PODS_PER_RUN}


def cluster_executor(name: str = "tv5_k8s") -> dg.ExecutorDefinition:
    """`k8s_job_executor` with CLUSTER_EXECUTOR_CONFIG: one Kubernetes Job per step."""
    from dagster_k8s import k8s_job_executor

    return k8s_job_executor.configured(CLUSTER_EXECUTOR_CONFIG, name=name)


def executor_for_environment(local: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """`cluster_executor()` when TV5_EXECUTOR=k8s (the Helm values set it), else `local`."""
    value = os.environ.get(EXECUTOR_ENV_VAR, "").strip().lower()
    if value in ("", "local"):
        return local
    if value == "k8s":
        return cluster_executor()
    raise ValueError(f"{EXECUTOR_ENV_VAR}={value!r} is not an executor: use 'k8s' on Kubernetes, or leave it unset")
