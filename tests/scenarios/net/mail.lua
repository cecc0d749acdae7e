-- mail.send from Lua: the failures a caller sees (delivery itself is tested in C against a fake
-- SMTP server: tests/unit/test_curl_uv.c).
local t = require "testing"
local mail = require "core.mail"
local db = require "lib.db"

local timer = require "core.timer"
local app = require "app"

-- a test-only route that sends a mail to a server that never greets (this app's HTTP port)
app.router:add{ method = "GET", path = "/test/mail", auth = "public", perm = "none",
  handler = function()
    local ok, err = mail.send{ url = ("smtp://127.0.0.1:%d"):format(t.serve()), from = "a@example.com",
      to = "b@example.com", message = "Subject: x\r\n\r\nx\r\n", timeout_ms = 5000 }
    return { status = 200, body = ok and "sent" or err.code }
  end }

local CLOSED_PORT = 18328 -- nothing listens there (this helper's range)

local MESSAGE = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"

local function send(o)
  local m = { url = ("smtp://127.0.0.1:%d"):format(CLOSED_PORT), from = "a@example.com",
    to = { "b@example.com" }, message = MESSAGE, timeout_ms = 2000 }
  for k, v in pairs(o or {}) do m[k] = v end
  return mail.send(m)
end

t.test("nobody listening gives code 'connect', worth retrying", function()
  local ok, err = send()
  t.eq(ok, nil)
  t.eq(err.code, "connect")
  t.eq(err.temporary, true)
  t.eq(err.smtp_code, nil)
end)

t.test("a server that never greets gives code 'timeout' within the time given", function()
  -- the app's own HTTP server waits for a request while curl waits for a greeting
  local clock = require "core.clock"
  local started = clock.mono_ms()
  local ok, err = send{ url = ("smtp://127.0.0.1:%d"):format(t.serve()), timeout_ms = 400 }
  local took = clock.mono_ms() - started
  t.eq(ok, nil)
  t.eq(err.code, "timeout")
  t.ok(took >= 380 and took < 2500, "took " .. took .. " ms")
end)

t.test("the password never shows in an error", function()
  local _, err = send{ username = "candor", password = "Sup3r-secret" }
  t.not_contains(err.message, "Sup3r-secret")
  t.raises(function() send{ url = "smtp://candor:Sup3r-secret@127.0.0.1:25" } end, "credentials")
end)

t.test("misuse raises: scheme, addresses, recipients, message", function()
  t.raises(function() send{ url = "http://127.0.0.1:25" } end, "smtp")
  t.raises(function() send{ from = "a@example.com>\r\nRCPT TO:<evil@example.com" } end, "from")
  t.raises(function() send{ to = { "b@example.com\r\nDATA" } } end, "to[1]")
  t.raises(function() send{ to = {} } end, "1 to 1000")
  t.raises(function() send{ message = 42 } end, "message")
  t.raises(function() send{ timeout_ms = 5 } end, "timeout_ms")
end)

t.test("sending inside a database transaction is refused", function()
  t.raises(function() db.transaction(function() send() end) end, "inside a database transaction")
end)

t.test("a send whose task is abandoned is cancelled without waiting for the server", function()
  local clock = require "core.clock"
  local s = t.socket()
  assert(s:send("GET /test/mail HTTP/1.1\r\nHost: x\r\n\r\n"))
  timer.sleep(100)
  t.eq(mail.pending(), 1, "the handler is waiting for a greeting")
  local started = clock.mono_ms()
  s:close()
  timer.sleep(50)
  t.eq(mail.pending(), 0, "the send was cancelled")
  t.ok(clock.mono_ms() - started < 1000, "cancelling did not block the loop")
end)
