-- Appends a new query string to every request: each is a new edge-cache key, so nginx passes it on.
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "?bench=" .. counter .. "-" .. math.random(1, 1e9))
end
