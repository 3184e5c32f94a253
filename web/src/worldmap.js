// The world map: Natural Earth countries (npm `world-atlas`, TopoJSON) converted to GeoJSON with
// `topojson-client`, keyed by ISO 3166-1 alpha-2 (npm `iso-3166-1`) as the collector stores countries.
// Loaded by the map page only (`import()`): the map data and ECharts' map chart are a third of the
// dashboard's bytes, and no other page needs them.
import { feature } from "topojson-client";
import iso from "iso-3166-1";
import topology from "world-atlas/countries-110m.json";
import { MapChart } from "echarts/charts";
import { VisualMapComponent } from "echarts/components";
import { echarts } from "./charts.js";

echarts.use([MapChart, VisualMapComponent]);

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
      const g = f.geometry;
      const geometry = g.type === "Polygon" ? { ...g, coordinates: g.coordinates.map(unwrap) }
        : { ...g, coordinates: g.coordinates.map((poly) => poly.map(unwrap)) };
      return { ...f, geometry, properties: { ...f.properties, iso: code } };
    });
  return geo;
}

echarts.registerMap("world", world());
