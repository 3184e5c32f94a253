// The Grafana Faro Web SDK with its default web instrumentations (errors, console, web vitals,
// session, view, performance, user actions), sending to the page's window.FARO_URL.
import { getWebInstrumentations, initializeFaro } from "@grafana/faro-web-sdk";

window.faro = initializeFaro({
  url: window.FARO_URL,
  app: { name: "shop", version: "1.4.2", environment: "test" },
  instrumentations: getWebInstrumentations({ captureConsole: false }),
  trackWebVitalsAttribution: true,
  trackUserActionsPreview: true,
});
