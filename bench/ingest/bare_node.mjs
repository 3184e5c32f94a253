// Node's bare `http` server (the runtime of Umami's collector, among others): reads each body,
// discards it and answers 202, as bench/ingest/bare.py's ASGI ceiling does.
// Run: node bench/ingest/bare_node.mjs PORT
import http from "node:http";

const port = Number(process.argv[2]);
http
  .createServer((req, res) => {
    req.on("data", () => {});
    req.on("end", () => {
      res.writeHead(202, { "content-length": "0" });
      res.end();
    });
  })
  .listen(port, "127.0.0.1");
