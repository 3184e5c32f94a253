// Google's web-vitals with attribution: the five metrics, reported to an endpoint.
import { onCLS, onFCP, onINP, onLCP, onTTFB } from "web-vitals/attribution";

const send = (m) => navigator.sendBeacon(window.BENCH.endpoint, JSON.stringify({ name: m.name, value: m.value, id: m.id }));
for (const on of [onCLS, onFCP, onINP, onLCP, onTTFB]) on(send);
