"""OTLP requests made by hand with the official `opentelemetry-proto` package, the
answers of an OTLP/HTTP receiver decoded with it (and `google.rpc.Status` from the
googleapis protos), and the explorer's OTLP/JSON read back into spans."""

import base64
import os

from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanMessage
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from collector import Span, _hex_ids_to_base64

PROTOBUF, JSON = "application/x-protobuf", "application/json"
# A fixed time (2026-01-01), so that hand-made spans read the same in every run.
T0 = 1_767_225_600_000_000_000


def new_trace_id() -> bytes:
    return os.urandom(16)


def new_span_id() -> bytes:
    return os.urandom(8)


def any_value(value) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, (list, tuple)):
        result = AnyValue()
        result.array_value.values.extend(any_value(item) for item in value)
        return result
    return AnyValue(string_value=str(value))


def key_values(attributes: dict) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


def span(trace_id: bytes, span_id: bytes | None = None, name: str = "work", parent: bytes = b"",
         kind: int = SpanMessage.SPAN_KIND_INTERNAL, start: int = T0, duration_ns: int = 1_000_000,
         attributes: dict | None = None, error: bool = False) -> SpanMessage:
    message = SpanMessage(
        trace_id=trace_id, span_id=span_id if span_id is not None else new_span_id(), parent_span_id=parent,
        name=name, kind=kind, start_time_unix_nano=start, end_time_unix_nano=start + duration_ns,
        attributes=key_values(attributes or {}))
    if error:
        message.status.code = 2
    return message


def trace_request(*spans: SpanMessage, service: str = "hand-made", scope: str = "e2e") -> ExportTraceServiceRequest:
    """One resource (`service.name` = `service`) and one scope holding `spans`."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"service.name": service}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    scope_spans.spans.extend(spans)
    return request


def _base64_ids_to_hex(value):
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex()
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(item, str)
            else _base64_ids_to_hex(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_base64_ids_to_hex(item) for item in value]
    return value


def otlp_json(message) -> dict:
    """A request as OTLP/JSON: lowerCamelCase names, enums as integers, ids as hex
    (protobuf's own JSON mapping would write ids in base64)."""
    return _base64_ids_to_hex(json_format.MessageToDict(message, use_integers_for_enums=True))


def decode(response, message_class):
    """The answer's body as `message_class`, in the encoding its Content-Type names."""
    message = message_class()
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith(JSON):
        json_format.Parse(response.content or b"{}", message)
    else:
        assert content_type.startswith(PROTOBUF), f"answer of type {content_type!r}: {response.content[:200]!r}"
        message.ParseFromString(response.content)
    return message


def trace_response(response) -> ExportTraceServiceResponse:
    return decode(response, ExportTraceServiceResponse)


def metrics_response(response) -> ExportMetricsServiceResponse:
    return decode(response, ExportMetricsServiceResponse)


def logs_response(response) -> ExportLogsServiceResponse:
    return decode(response, ExportLogsServiceResponse)


def status(response) -> Status:
    """A failure's `google.rpc.Status`."""
    return decode(response, Status)


def stored_spans(document: dict) -> list[Span]:
    """The spans of an explorer trace (`GET /traces/{id}`, OTLP/JSON), read with the
    official protobuf classes; each knows its resource's `service.name` and its scope."""
    data = TracesData()
    json_format.ParseDict(_hex_ids_to_base64(document), data, ignore_unknown_fields=True)
    spans = []
    for resource_spans in data.resource_spans:
        resource = {item.key: (item.value.WhichOneof("value"), getattr(item.value, item.value.WhichOneof("value") or "string_value"))
                    for item in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for message in scope_spans.spans:
                read = Span(message, resource, scope_spans.scope.name)
                read.message = message  # links, flags: what `Span` does not copy
                spans.append(read)
    return spans


def plain(value: AnyValue):
    """An AnyValue as Python: arrays as lists."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [plain(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None
