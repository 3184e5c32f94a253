// Grafana Faro web SDK with its default web instrumentations (errors, web vitals, session,
// views, performance), without tracing.
import { getWebInstrumentations, initializeFaro } from "@grafana/faro-web-sdk";

initializeFaro({ url: window.BENCH.origin + "/collect", app: { name: "bench" }, instrumentations: getWebInstrumentations() });
