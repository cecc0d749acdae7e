-- Outbound HTTP through libcurl on the loop: fetch.request waits without blocking the loop, so
-- it can call this very server (started with t.serve()) from a test.
local t = require "testing"
local fetch = require "core.fetch"
local timer = require "core.timer"
local json = require "lib.json"
local db = require "lib.db"
local app = require "app"

-- test-only routes on the app's own server
app.router:add{ method = "POST", path = "/test/echo", auth = "public", perm = "none", tx = false,
  handler = function(req)
    return { status = 201, headers = { ["Content-Type"] = "application/json", ["X-Echo"] = "yes" },
      body = json.encode({ method = req.method, headers = req.headers, body = req.body, query = req.query }) }
  end }
app.router:add{ method = "GET", path = "/test/slow", auth = "public", perm = "none",
  handler = function()
    timer.sleep(3000)
    return { status = 200, body = "late" }
  end }
app.router:add{ method = "GET", path = "/test/relay", auth = "public", perm = "none",
  handler = function()
    local res, err = fetch.request{ url = ("http://127.0.0.1:%d/test/slow"):format(t.serve()), timeout_ms = 5000 }
    return { status = 200, body = res and res.body or err.code }
  end }
app.router:add{ method = "GET", path = "/test/big", auth = "public", perm = "none",
  handler = function() return { status = 200, body = ("b"):rep(5000) } end }

local CLOSED_PORT = 18329 -- nothing listens there (this helper's range)

local function url(path) return ("http://127.0.0.1:%d%s"):format(t.serve(), path) end

t.test("GET /healthz answers 200 with JSON", function()
  local res, err = fetch.request{ url = url("/healthz") }
  t.eq(err, nil)
  t.eq(res.status, 200)
  t.eq(res.headers["content-type"], "application/json")
  t.eq(json.decode(res.body).status, "ok")
  t.eq(res.headers["x-content-type-options"], "nosniff", "header names are lower-case")
end)

t.test("a 404 is an answer, not an error", function()
  local res, err = fetch.request{ url = url("/nothing-here"), headers = { Accept = "application/json" } }
  t.eq(err, nil)
  t.eq(res.status, 404)
  t.eq(json.decode(res.body).error.code, "not_found")
end)

t.test("method, headers and body are sent as given", function()
  local res = assert(fetch.request{ method = "POST", url = url("/test/echo?x=1"),
    headers = { ["Content-Type"] = "application/json", ["X-Hook"] = "review.shared" },
    body = '{"event":"review.shared","who":"Zoë"}' })
  t.eq(res.status, 201)
  t.eq(res.headers["x-echo"], "yes")
  local echo = json.decode(res.body)
  t.eq(echo.method, "POST")
  t.eq(echo.query, "x=1")
  t.eq(echo.body, '{"event":"review.shared","who":"Zoë"}')
  t.eq(echo.headers["content-type"], "application/json")
  t.eq(echo.headers["x-hook"], "review.shared")
  t.match(echo.headers["user-agent"], "^Candor/")
  t.eq(echo.headers.expect, nil)
end)

t.test("a body without a content type is not labelled as a form", function()
  local res = assert(fetch.request{ method = "POST", url = url("/test/echo"), body = "raw" })
  local echo = json.decode(res.body)
  t.eq(echo.body, "raw")
  t.eq(echo.headers["content-type"], nil)
end)

t.test("a server that does not answer in time gives code 'timeout'", function()
  local clock = require "core.clock"
  local started = clock.mono_ms()
  local res, err = fetch.request{ url = url("/test/slow"), timeout_ms = 300 }
  local took = clock.mono_ms() - started
  t.eq(res, nil)
  t.eq(err.code, "timeout")
  t.contains(err.message, "300 ms")
  t.ok(took >= 280 and took < 2000, "took " .. took .. " ms")
end)

t.test("a request whose task is abandoned is cancelled", function()
  -- a handler relays to the slow route; its client hangs up, the host abandons the handler's
  -- task, and the transfer it waited on is cancelled at once
  local s = t.socket()
  assert(s:send("GET /test/relay HTTP/1.1\r\nHost: x\r\n\r\n"))
  timer.sleep(100)
  t.eq(fetch.pending(), 1, "the relay is waiting for the slow route")
  s:close()
  timer.sleep(100)
  t.eq(fetch.pending(), 0, "the relay's transfer was cancelled")
  -- left in flight on purpose: closing the host must cancel it (the asan run checks for leaks)
  local s2 = t.socket()
  assert(s2:send("GET /test/relay HTTP/1.1\r\nHost: x\r\n\r\n"))
  timer.sleep(50)
  t.eq(fetch.pending(), 1)
end)

t.test("an answer larger than max_body gives code 'too_large'", function()
  local res, err = fetch.request{ url = url("/test/big"), max_body = 1000 }
  t.eq(res, nil)
  t.eq(err.code, "too_large")
  t.contains(err.message, "1000 bytes")
  local ok = assert(fetch.request{ url = url("/test/big"), max_body = 5000 })
  t.eq(#ok.body, 5000)
end)

t.test("nobody listening gives code 'connect'", function()
  local res, err = fetch.request{ url = ("http://127.0.0.1:%d/"):format(CLOSED_PORT), timeout_ms = 2000 }
  t.eq(res, nil)
  t.eq(err.code, "connect")
end)

t.test("misuse raises: bad URL, scheme, method or header", function()
  t.raises(function() fetch.request{ url = "ftp://example.com/x" } end, "http,https")
  t.raises(function() fetch.request{ url = "not a url" } end, "not a valid URL")
  t.raises(function() fetch.request{ url = "http://u:p@example.com/" } end, "credentials")
  t.raises(function() fetch.request{ url = url("/"), method = "get" } end, "method")
  t.raises(function() fetch.request{ url = url("/"), headers = { ["X-A"] = "1\r\nX-Injected: 1" } } end,
    "not a valid header")
  t.raises(function() fetch.request{ url = url("/"), timeout_ms = 0 } end, "timeout_ms")
end)

t.test("waiting inside a database transaction is refused", function()
  t.raises(function()
    db.transaction(function() fetch.request{ url = url("/healthz") } end)
  end, "inside a database transaction")
end)

