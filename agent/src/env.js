// The browser environment, sent with every beacon: the connection type, the release the site
// declares, and User-Agent Client Hints where the browser offers them.
import { RELEASE } from "./config.js";
import { nav, safe } from "./lib/guard.js";

export const env = {};

export const readEnv = () => {
  const c = nav.connection || {};
  // Viewport, screen, pixel ratio, memory and Save-Data are not sent: the collector stores none.
  Object.assign(env, { conn: c.effectiveType, release: RELEASE });
  const ua = nav.userAgentData;
  if (ua && ua.getHighEntropyValues) {
    ua.getHighEntropyValues(["platformVersion", "model", "fullVersionList"]).then(
      safe((h) => {
        env.uach = {
          brands: (h.fullVersionList || h.brands || []).map((b) => b.brand + "/" + b.version),
          mobile: h.mobile,
          platform: h.platform,
          platform_version: h.platformVersion,
          model: h.model,
        };
      }),
      () => {},
    );
  }
};
