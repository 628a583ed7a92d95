"""An API instrumented the way Honeycomb's Python guide shows: the OpenTelemetry SDK
with an OTLP/HTTP exporter, Flask and requests instrumentation. It is configured only
through the standard variables (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_HEADERS); nothing here knows about hoptrace.

Run: PORT=4567 python app.py
"""

import json
import os
import time

from flask import Flask, Response, jsonify, request
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

# Honeycomb ------
provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer(__name__)

app = Flask(__name__)
FlaskInstrumentor().instrument_app(app)
RequestsInstrumentor().instrument()
# ------ Honeycomb

ACTIVITIES = [
    {"uuid": "68f126b0-1ceb-4a33-88be-d90fa7109eee", "handle": "Andrew Brown", "message": "Cloud is fun!", "likes": 5},
    {"uuid": "66e12864-8c26-4c3a-9658-95a10f8fea67", "handle": "Worf", "message": "This post has no honor!", "likes": 0},
    {"uuid": "248959df-3079-4947-b847-9e0892d1bab4", "handle": "Garek", "message": "My dear doctor, I am just a simple tailor.", "likes": 3},
]


@app.route("/api/activities/home")
def home_activities():
    # A span of the handler's own, inside Flask's SERVER span.
    with tracer.start_as_current_span("home-activities-mock-data") as span:
        span.set_attribute("app.now", time.time())
        span.set_attribute("app.result_length", len(ACTIVITIES))
        return jsonify(ACTIVITIES)


@app.route("/api/activities/fail")
def failing_activities():
    return jsonify({"error": "the activity store is unavailable"}), 500


@app.route("/api/activities/stream")
def streamed_activities():
    """Newline-delimited JSON, one activity every `delay` seconds (chunked)."""
    delay = float(request.args.get("delay", "0.1"))

    def lines():
        for activity in ACTIVITIES * 2:
            yield json.dumps(activity) + "\n"
            time.sleep(delay)

    return Response(lines(), mimetype="application/x-ndjson")


@app.route("/api/activities/slow")
def slow_activities():
    time.sleep(float(request.args.get("seconds", "1")))
    return jsonify(ACTIVITIES)


@app.route("/api/health")
def health():
    return jsonify({"status": "ok"})


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "4567")), threaded=True)
