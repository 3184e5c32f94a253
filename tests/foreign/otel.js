// The OpenTelemetry web SDK with the document-load, fetch, XHR and user-interaction
// instrumentations, exporting traces and logs over OTLP/HTTP (JSON, or protobuf when
// window.OTEL_CONFIG.protocol is "protobuf") to window.OTEL_CONFIG.url + "/v1/traces" and
// "/v1/logs". Uncaught errors are logged with the exception attributes of the semantic
// conventions; the session is a `session.id` resource attribute kept for the tab. With
// window.OTEL_CONFIG.debug the SDK logs what it does to the console.
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { DocumentLoadInstrumentation } from "@opentelemetry/instrumentation-document-load";
import { FetchInstrumentation } from "@opentelemetry/instrumentation-fetch";
import { UserInteractionInstrumentation } from "@opentelemetry/instrumentation-user-interaction";
import { XMLHttpRequestInstrumentation } from "@opentelemetry/instrumentation-xml-http-request";
import { OTLPTraceExporter as JsonTraces } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraces } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPLogExporter as JsonLogs } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogs } from "@opentelemetry/exporter-logs-otlp-proto";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { WebTracerProvider } from "@opentelemetry/sdk-trace-web";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { DiagConsoleLogger, DiagLogLevel, diag } from "@opentelemetry/api";

if (window.OTEL_CONFIG.debug) diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.DEBUG);

const { url, protocol } = window.OTEL_CONFIG;
const proto = protocol === "protobuf";
let session = sessionStorage.getItem("otel.session");
if (!session) {
  session = crypto.randomUUID();
  sessionStorage.setItem("otel.session", session);
}
const resource = resourceFromAttributes({ "service.name": "shop", "session.id": session });
const Traces = proto ? ProtoTraces : JsonTraces;
const Logs = proto ? ProtoLogs : JsonLogs;

const tracing = new WebTracerProvider({
  resource,
  spanProcessors: [new BatchSpanProcessor(new Traces({ url: url + "/v1/traces" }))],
});
tracing.register();
registerInstrumentations({
  instrumentations: [
    new DocumentLoadInstrumentation(),
    new FetchInstrumentation(),
    new XMLHttpRequestInstrumentation(),
    new UserInteractionInstrumentation(),
  ],
});

const logging = new LoggerProvider({
  resource,
  processors: [new BatchLogRecordProcessor({ exporter: new Logs({ url: url + "/v1/logs" }) })],
});
const logger = logging.getLogger("errors");
addEventListener("error", (event) => {
  const error = event.error || {};
  logger.emit({
    severityNumber: 17,
    severityText: "ERROR",
    body: event.message,
    attributes: {
      "exception.type": error.name || "Error",
      "exception.message": error.message || event.message,
      "exception.stacktrace": error.stack || "",
      "url.full": location.href,
    },
  });
});
