// The browser environment, sent with every beacon: the connection type, the release the site
// declares, and User-Agent Client Hints where the browser offers them.
import { nav, safe } from "./lib/guard.js";

export const env = {};

export const readEnv = () => {
  // Viewport, screen, pixel ratio, memory and Save-Data are not sent: the collector stores none.
  env.conn = (nav.connection || {}).effectiveType;
  const ua = nav.userAgentData;
  if (ua) {
    ua.getHighEntropyValues(["platformVersion", "model", "fullVersionList"]).then(
      safe((h) => (env.uach = h)),
      () => {},
    );
  }
};
