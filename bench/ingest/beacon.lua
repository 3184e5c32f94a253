-- wrk script: POST unique beacons of 5 events (a load with Navigation Timing and vitals, two xhr
-- actions, a JavaScript error and a rage click). Every request gets its own session id, so every
-- accepted event must be stored (none is a re-send).
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  app = args[1] or "bench"
  math.randomseed(os.time() + (tid or 0) * 7919)
  prefix = string.format("%s-w%d-%d-", args[2] or "run", tid or 0, math.random(1, 1e9))
end

local head = '{"v":1,"app":"%s","sid":"%s","page":"p","sent":%d,"seq":1,"agent":"0.1.0",' ..
  '"url":"https://shop.example/products/42","env":{"conn":"4g","release":"2026.11.3","vw":1440},"events":['
local events = '{"kind":"action","id":"1","type":"load","start":%d,"url":"https://shop.example/products/42",' ..
  '"duration":1812.4,"nt":{"fetchStart":1,"domainLookupStart":2,"domainLookupEnd":14,"connectStart":14,' ..
  '"connectEnd":50,"requestStart":102.1,"responseStart":298,"responseEnd":351.5,"domInteractive":903.2,' ..
  '"domContentLoadedEventEnd":950,"domComplete":1700,"loadEventStart":1790,"loadEventEnd":1812.4},' ..
  '"vitals":{"lcp":{"id":"l","value":1488,"target":"img.hero"},"cls":{"id":"c","value":0.04},' ..
  '"fcp":{"id":"f","value":900},"ttfb":{"id":"t","value":298}}},' ..
  '{"kind":"action","id":"2","type":"xhr","start":%d,"url":"https://shop.example/products/42",' ..
  '"name":"click on \\"Add to cart\\"","duration":640,"requests":2},' ..
  '{"kind":"action","id":"3","type":"xhr","start":%d,"url":"https://shop.example/cart",' ..
  '"name":"click on \\"Checkout\\"","duration":980,"requests":1},' ..
  '{"kind":"error","id":"4","type":"js","time":%d,"action":"2","name":"TypeError",' ..
  '"message":"Cannot read properties of undefined (reading \'price\')",' ..
  '"stack":"at renderPrice (https://shop.example/static/app.js:1:48213)"},' ..
  '{"kind":"user","id":"5","type":"rage_click","time":%d,"x":640,"y":480,"count":4}]}'

local headers = {
  ["Content-Type"] = "text/plain;charset=UTF-8",
  ["Origin"] = "https://shop.example",
  ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
}

request = function()
  counter = counter + 1
  local now = math.floor(os.time() * 1000)
  local body = string.format(head, app, prefix .. counter, now) ..
    string.format(events, now - 9000, now - 6000, now - 4000, now - 5900, now - 3000)
  return wrk.format("POST", "/api/v1/beacon", headers, body)
end

-- Open-loop pacing: each connection waits this long between requests (ms), set by the runner.
local pace = tonumber(os.getenv("OPENRUM_BENCH_DELAY_MS") or "0")
if pace > 0 then
  delay = function() return pace end
end
