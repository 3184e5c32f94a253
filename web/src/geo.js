// Country names, keyed by ISO 3166-1 alpha-2 as the collector stores countries: Natural Earth's
// short names ("United Kingdom", "South Korea") where the world map has the country, ISO 3166-1's
// (npm `iso-3166-1`) elsewhere. The table is made when the dashboard is built (build.mjs), so that
// naming a country does not load the map (worldmap.js, loaded by the map page only).
import NAMES from "country-names";

export function countryName(code) {
  if (!code) return "(unknown)";
  return Object.hasOwn(NAMES, code) ? NAMES[code] : code;
}
