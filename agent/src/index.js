// The snippet's agent: one async <script> in the <head>, its options in the tag's data-*
// attributes (read while the script first runs: document.currentScript).
import { init } from "./agent.js";
import { doc } from "./lib/guard.js";

const tag = doc.currentScript || {};
init({ ...tag.dataset, src: tag.src });
