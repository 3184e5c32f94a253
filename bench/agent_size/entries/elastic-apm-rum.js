// Elastic APM RUM: page loads, user interactions, errors, distributed tracing of fetch/XHR.
import { init } from "@elastic/apm-rum";

init({ serviceName: "bench", serverUrl: window.BENCH.origin, environment: "bench" });
