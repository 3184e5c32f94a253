import terser from "@rollup/plugin-terser";

// Terser inlines functions called once by default; an inlined function's name is gone from the
// minified code's scopes, so no tool can name its frame. Builds that want named frames keep them.
const minify = terser({ compress: { inline: false, reduce_funcs: false } });

export default {
  input: "app/main.js",
  output: { file: process.env.OUT, format: "iife", sourcemap: true, plugins: [minify] },
};
