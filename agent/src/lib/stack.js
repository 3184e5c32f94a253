// Stacks are trimmed before sending: the message line dropped, at most 10 frames of 200 chars.

/** @returns {string|undefined} the first frames of an error's stack */
export function trimStack(stack) {
  const frames = String(stack || "")
    .split("\n")
    .filter((line) => /:\d+/.test(line))
    .slice(0, 10)
    .map((line) => line.trim().slice(0, 200));
  return frames.length ? frames.join("\n") : undefined;
}
