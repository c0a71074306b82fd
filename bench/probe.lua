-- The one wrk script of `make bench`. It proves each scenario's preconditions: it counts every
-- response by status, by X-Cache-Status (the edge's verdict; "none" when the edge was not on the
-- path) and by X-Served-By (which replica answered), and prints the counts as one JSON line.
--
-- Environment (set by bench/scenarios.py):
--   BENCH_UNIQUE=<run id>   every request gets a query string no other request has (run id,
--                    thread number, counter), so no edge-cache entry is ever reused
--   BENCH_METHOD, BENCH_BODY, BENCH_TOKEN   for writes (order placement)
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local unique = os.getenv("BENCH_UNIQUE")
if os.getenv("BENCH_METHOD") then wrk.method = os.getenv("BENCH_METHOD") end
if os.getenv("BENCH_BODY") then
  wrk.body = os.getenv("BENCH_BODY")
  wrk.headers["Content-Type"] = "application/json"
end
if os.getenv("BENCH_TOKEN") then wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") end

function init(args)
  counter = 0
  cache = {}
  served = {}
  statuses = {}
end

if unique then
  request = function()
    counter = counter + 1
    return wrk.format(nil, wrk.path .. "?bench=" .. unique .. "-" .. tid .. "-" .. counter)
  end
end

function response(status, headers, body)
  local verdict = headers["X-Cache-Status"] or "none"
  cache[verdict] = (cache[verdict] or 0) + 1
  local replica = headers["X-Served-By"] or "none"
  served[replica] = (served[replica] or 0) + 1
  local code = tostring(status)
  statuses[code] = (statuses[code] or 0) + 1
end

local function merge(into, from)
  for key, count in pairs(from) do into[key] = (into[key] or 0) + count end
end

local function json(counts)
  local parts = {}
  for key, count in pairs(counts) do table.insert(parts, string.format("%q:%d", key, count)) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local c, s, st = {}, {}, {}
  for _, thread in ipairs(threads) do
    merge(c, thread:get("cache"))
    merge(s, thread:get("served"))
    merge(st, thread:get("statuses"))
  end
  io.write(string.format('BENCH_JSON {"cache":%s,"served_by":%s,"status":%s}\n', json(c), json(s), json(st)))
end
