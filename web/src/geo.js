// The world map: Natural Earth countries (npm `world-atlas`, TopoJSON) converted to GeoJSON with
// `topojson-client`, keyed by ISO 3166-1 alpha-2 (npm `iso-3166-1`) as the collector stores countries.
import { feature } from "topojson-client";
import iso from "iso-3166-1";
import topology from "world-atlas/countries-110m.json";
import { echarts } from "./charts.js";

const names = new Map(); // alpha-2 → Natural Earth's short name ("United Kingdom", "South Korea")
let registered = false;

// Rings that cross the antimeridian (Russia, Fiji) jump from +180 to −180; move their western
// part east of 180° so that no polygon is drawn across the whole map.
function unwrap(ring) {
  if (!ring.some(([x]) => x > 170) || !ring.some(([x]) => x < -170)) return ring;
  return ring.map(([x, y]) => [x < 0 ? x + 360 : x, y]);
}

function world() {
  const geo = feature(topology, topology.objects.countries);
  geo.features = geo.features
    .filter((f) => f.properties.name !== "Antarctica")
    .map((f) => {
      const found = f.id && iso.whereNumeric(String(f.id).padStart(3, "0"));
      const code = found ? found.alpha2 : f.properties.name;
      names.set(code, f.properties.name);
      const g = f.geometry;
      const geometry = g.type === "Polygon" ? { ...g, coordinates: g.coordinates.map(unwrap) }
        : { ...g, coordinates: g.coordinates.map((poly) => poly.map(unwrap)) };
      return { ...f, geometry, properties: { ...f.properties, iso: code } };
    });
  return geo;
}

export function registerWorld() {
  if (registered) return;
  echarts.registerMap("world", world());
  registered = true;
}

export function countryName(code) {
  if (!code) return "(unknown)";
  registerWorld();
  if (names.has(code)) return names.get(code);
  const c = iso.whereAlpha2(code);
  return c ? c.country : code;
}
