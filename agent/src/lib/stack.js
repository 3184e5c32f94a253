// Stack traces parsed into frames and sent trimmed: at most 10 frames, the message line dropped,
// query strings stripped from script URLs. Chrome/Edge write `    at fn (url:line:col)` or
// `    at url:line:col`; Firefox and Safari write `fn@url:line:col`.
import { stripUrl } from "./url.js";

const FRAME = /^\s*(?:at (?:(.+?) \()?|(.*?)@)(.+?):(\d+):(\d+)\)?\s*$/;

/** @returns {{fn: string, url: string, line: number, col: number}[]} the frames of `stack` */
export function parseStack(stack) {
  const frames = [];
  for (const line of String(stack || "").split("\n")) {
    const m = FRAME.exec(line);
    if (m) frames.push({ fn: m[1] || m[2] || "?", url: stripUrl(m[3]), line: +m[4], col: +m[5] });
  }
  return frames;
}

/** @returns {string|undefined} the first 10 frames, one `at fn (url:line:col)` a line */
export const formatStack = (frames) =>
  frames
    .slice(0, 10)
    .map((f) => `at ${f.fn.slice(0, 100)} (${f.url.slice(0, 200)}:${f.line}:${f.col})`)
    .join("\n") || undefined;
