// The browser environment, sent with every beacon: viewport, screen, device memory, connection,
// the release the site declares, and User-Agent Client Hints where the browser offers them.
import { RELEASE } from "./config.js";
import { nav, safe, win } from "./lib/guard.js";

export const env = {};

export const readEnv = () => {
  const c = nav.connection || {};
  Object.assign(env, {
    vw: win.innerWidth,
    vh: win.innerHeight,
    sw: screen.width,
    sh: screen.height,
    dpr: win.devicePixelRatio,
    mem: nav.deviceMemory,
    conn: c.effectiveType,
    save_data: c.saveData,
    release: RELEASE,
  });
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
