// Grafana Faro web SDK with its web instrumentations and OpenTelemetry tracing.
import { getWebInstrumentations, initializeFaro } from "@grafana/faro-web-sdk";
import { TracingInstrumentation } from "@grafana/faro-web-tracing";

initializeFaro({
  url: window.BENCH.origin + "/collect",
  app: { name: "bench" },
  instrumentations: [...getWebInstrumentations(), new TracingInstrumentation()],
});
