"""Insert requests built column by column from a polars frame, vectors as one block of bytes.

pymilvus turns every row (or every column) into Python values before packing the protobuf: for a
384-d float vector that is 384 Python floats per row, about 90% of an insert's time (measured: 3-4k
rows/s, whatever the server). Here each column goes into its protobuf field in one call, and the
float vectors of a batch are handed to protobuf as their packed wire bytes (one `tobytes()`), so an
insert costs what the server needs (measured on the same 2-core box: 16k rows/s with the CPU
shared, 4x pymilvus). The request is the one pymilvus sends (`InsertRequest` of the Milvus gRPC
API), over the client's own connection, so Milvus servers and Milvus Lite both take it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .collections import VECTOR_FIELD, CollectionSpec

# Wire tag of field 1 (`data`) of FloatArray, length-delimited (a packed repeated float).
_PACKED_FLOATS_TAG = b"\x0a"


def insert_request(collection: str, spec: CollectionSpec, batch: pl.DataFrame) -> Any:
    """The `InsertRequest` for `batch` (columns in `spec.column_order`, validated upstream)."""
    from pymilvus.grpc_gen import milvus_pb2

    fields = [_scalar_field(field.name, field.milvus_type, batch[field.name]) for field in spec.fields]
    fields.append(_vector_field(batch[VECTOR_FIELD], spec.dim))
    return milvus_pb2.InsertRequest(collection_name=collection, num_rows=batch.height, fields_data=fields)


def upsert_request(collection: str, spec: CollectionSpec, batch: pl.DataFrame) -> Any:
    """The `UpsertRequest` for `batch`: the same fields as an insert; rows replace those with their keys."""
    from pymilvus.grpc_gen import milvus_pb2

    fields = [_scalar_field(field.name, field.milvus_type, batch[field.name]) for field in spec.fields]
    fields.append(_vector_field(batch[VECTOR_FIELD], spec.dim))
    return milvus_pb2.UpsertRequest(collection_name=collection, num_rows=batch.height, fields_data=fields)


def send_upsert(client: Any, request: Any, timeout_s: float = 120.0) -> int:
    """Send an upsert over the client's connection; the number of rows the server acknowledged."""
    from pymilvus.client.utils import check_status

    response = client._get_connection()._stub.Upsert(request, timeout=timeout_s)
    check_status(response.status)
    return int(response.upsert_cnt)


def send_insert(client: Any, request: Any, timeout_s: float = 120.0) -> int:
    """Send the request over the client's connection; the number of rows the server acknowledged."""
    from pymilvus.client.utils import check_status

    response = client._get_connection()._stub.Insert(request, timeout=timeout_s)
    check_status(response.status)  # raises MilvusException with the server's code and message
    return int(response.insert_cnt)


def _scalar_field(name: str, milvus_type: str, column: pl.Series) -> Any:
    from pymilvus.client.types import DataType
    from pymilvus.grpc_gen import schema_pb2

    if column.null_count():
        raise ValueError(f"column {name} has nulls; the collection's fields are not nullable")
    values = column.to_list()
    if milvus_type == "INT64":
        scalars = schema_pb2.ScalarField(long_data=schema_pb2.LongArray(data=values))
    elif milvus_type in {"INT8", "INT16", "INT32"}:
        scalars = schema_pb2.ScalarField(int_data=schema_pb2.IntArray(data=values))
    elif milvus_type == "VARCHAR":
        scalars = schema_pb2.ScalarField(string_data=schema_pb2.StringArray(data=values))
    elif milvus_type == "ARRAY":  # of VARCHAR: one StringArray per row
        rows = [schema_pb2.ScalarField(string_data=schema_pb2.StringArray(data=row)) for row in values]
        scalars = schema_pb2.ScalarField(array_data=schema_pb2.ArrayArray(data=rows, element_type=DataType.VARCHAR))
    else:
        raise ValueError(f"field {name}: no wire encoding for Milvus type {milvus_type}")
    return schema_pb2.FieldData(field_name=name, type=getattr(DataType, milvus_type), scalars=scalars)


def _vector_field(column: pl.Series, dim: int) -> Any:
    from google.protobuf.internal.encoder import _VarintBytes
    from pymilvus.client.types import DataType
    from pymilvus.grpc_gen import schema_pb2

    vectors = np.ascontiguousarray(column.to_numpy(), dtype="<f4")
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise ValueError(f"{VECTOR_FIELD} has shape {vectors.shape}, expected (rows, {dim})")
    raw = vectors.tobytes()
    floats = schema_pb2.FloatArray.FromString(_PACKED_FLOATS_TAG + _VarintBytes(len(raw)) + raw)
    return schema_pb2.FieldData(
        field_name=VECTOR_FIELD,
        type=DataType.FLOAT_VECTOR,
        vectors=schema_pb2.VectorField(dim=dim, float_vector=floats),
    )
