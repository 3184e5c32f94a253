// Sentry for browsers with tracing (browserTracingIntegration: page loads, navigations, web
// vitals, fetch/XHR spans) and error capture.
import * as Sentry from "@sentry/browser";

Sentry.init({
  dsn: window.BENCH.origin.replace("//", "//public@") + "/1",
  integrations: [Sentry.browserTracingIntegration()],
  tracesSampleRate: 1,
});
