"""Milvus token refusal, without a server: how the resource reads pymilvus' connect failures, and the
local service's authentication setting (the real server: reliability/test_milvus_token.py, `-m soak`)."""

from __future__ import annotations

import grpc
import pytest
from pymilvus.exceptions import MilvusException

from tv5_assets.errors import ServiceUnavailableError, StoreSettingsError
from tv5_assets.resources.milvus import MilvusResource, is_transient, refused_credentials
from tv5_assets.services.milvus import PASSWORD_VAR, MilvusLiteService

TOKEN = "root:aTokenThatMustNotShow"


class _Rpc(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def _connect_failure(code: grpc.StatusCode, details: str) -> MilvusException:
    """What pymilvus raises when the connect call fails, whatever the server said (its words are below)."""
    try:
        try:
            raise _Rpc(code, details)
        except grpc.RpcError as rpc:
            raise MilvusException(
                code=2,
                message="Fail connecting to server on 127.0.0.1:19530, illegal connection params or server unavailable",
            ) from rpc
    except MilvusException as error:
        return error


@pytest.mark.parametrize(
    "details",
    [
        "auth check failure, please check username and password are correct",
        "missing authorization in header",
        "auth check failure, please check api key is correct",
    ],
)
def test_a_refused_token_fails_once_naming_the_variable(details: str) -> None:
    error = _connect_failure(grpc.StatusCode.UNAUTHENTICATED, details)
    assert refused_credentials(error) and not is_transient(error)
    translated = MilvusResource(uri="http://127.0.0.1:19530", token=TOKEN)._connect_error(error)
    assert isinstance(translated, StoreSettingsError) and not is_transient(translated)
    message = str(translated)
    assert "refused the token" in message and "TV5_MILVUS_TOKEN" in message and details in message
    assert TOKEN not in message


def test_a_server_that_is_down_is_still_retried() -> None:
    error = _connect_failure(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; Connection refused")
    assert not refused_credentials(error) and is_transient(error)
    translated = MilvusResource(uri="http://127.0.0.1:19530", token=TOKEN)._connect_error(error)
    assert type(translated) is ServiceUnavailableError and "not reachable" in str(translated)
    assert "UNAVAILABLE" in str(translated) and TOKEN not in str(translated)


def test_milvus_lite_refuses_a_password_it_cannot_enforce(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(PASSWORD_VAR, "secret-not-checked")
    with pytest.raises(ServiceUnavailableError, match="TV5_LOCAL_MILVUS_ENGINE=server"):
        MilvusLiteService(port=1, data_dir=tmp_path)._launch()
