-- An answer whose body is a file on disk (web.file({ file = path }), core/http.c
-- http_respond_file), against the real server in this process over real sockets: the bytes
-- arrive whole and in order, a pipelined request waits behind the file, HEAD says the size and
-- sends nothing, a file that shrinks while it is sent closes the connection after a true prefix
-- (never wrong bytes), and a large file is never held in memory.
local t = require "testing"
local app = require "app"
local web = require "lib.web"
local fs = require "core.fs"
local crypto = require "core.crypto"
local timer = require "core.timer"

local PATH = "/tmp/candor-file-answer-" .. crypto.hex(crypto.random(6))
local KIB = 1024

-- n KiB of bytes that differ from piece to piece (a piece sent twice or out of order shows).
local function content(kib)
  local parts = {}
  for i = 1, kib do parts[i] = ("%08d"):format(i):rep(KIB // 8) end
  return table.concat(parts)
end

app.router:add{ method = "GET", path = "/test/file-answer", auth = "public", perm = "none", session = false,
  handler = function() return web.file({ file = PATH }, "application/octet-stream", "data.bin") end }

-- The resident memory of this process (server and client both run in it), in KiB.
local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- Reads what arrives on s until eof (or timeout); returns it.
local function read_to_end(s)
  local parts = { s.buf }
  s.buf = ""
  while true do
    local data = s:read(5000)
    if not data then break end
    parts[#parts + 1] = data
  end
  return table.concat(parts)
end

t.test("a file answer arrives whole, with its length, and the connection goes on", function()
  local body = content(3 * KIB) -- 3 MiB: many pieces, more than the socket buffers take at once
  assert(fs.write(PATH, body, 384))
  local s = t.socket()
  local res = t.status(s:request("GET", "/test/file-answer"), 200)
  t.eq(tonumber(res.headers["content-length"]), #body)
  t.eq(res.headers["content-type"], "application/octet-stream")
  t.match(res.headers["content-disposition"], 'filename="data.bin"')
  t.ok(res.body == body, ("the bytes as on disk (%d received of %d)"):format(#res.body, #body))
  t.eq(t.status(s:request("GET", "/healthz"), 200).body, '{"status":"ok"}', "keep-alive: the next request")
  s:close()
  fs.remove(PATH)
end)

t.test("a request pipelined behind a file answer is answered after the file's last byte", function()
  local body = content(2 * KIB)
  assert(fs.write(PATH, body, 384))
  local s = t.socket()
  s:send("GET /test/file-answer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
  local first = t.status(s:response(), 200)
  t.ok(first.body == body, "the file first, whole")
  t.eq(t.status(s:response(), 200).body, '{"status":"ok"}', "then the second answer")
  s:close()
  fs.remove(PATH)
end)

t.test("HEAD of a file answer gives its length and no body", function()
  local body = content(256)
  assert(fs.write(PATH, body, 384))
  local s = t.socket()
  local res = t.status(s:request("HEAD", "/test/file-answer"), 200)
  t.eq(tonumber(res.headers["content-length"]), #body)
  t.eq(res.body, "")
  s.head_request = false
  t.eq(t.status(s:request("GET", "/healthz"), 200).body, '{"status":"ok"}', "no stray bytes before the next answer")
  s:close()
  fs.remove(PATH)
end)

t.test("a file that shrinks while it is sent ends the connection after a true prefix of it", function()
  local body = content(16 * KIB)
  assert(fs.write(PATH, body, 384))
  local s = t.socket()
  s:send("GET /test/file-answer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
  local got = assert(s:read(5000)) -- the head and the first pieces; the rest waits for us
  local f = assert(io.open(PATH, "r+")) -- the file is cut short in place meanwhile (the same file,
  f:write(body:sub(1, 512 * KIB)) --      not a new one renamed over it, as fs.write makes)
  f:close()
  os.execute("truncate -s " .. 512 * KIB .. " " .. PATH)
  got = got .. read_to_end(s)
  local head_end = got:find("\r\n\r\n", 1, true)
  t.ok(head_end, "the head arrived")
  t.match(got:sub(1, head_end), "Content%-Length: " .. #body)
  local received = got:sub(head_end + 4)
  t.ok(#received < #body, ("the body is short (%d of %d bytes)"):format(#received, #body))
  t.ok(received == body:sub(1, #received), "and what came is the file's start, byte for byte")
  s:close()
  fs.remove(PATH)
end)

t.test("a large file is sent without being held in memory", function()
  local body = content(48 * KIB) -- 48 MiB
  assert(fs.write(PATH, body, 384))
  body = nil -- luacheck: ignore 311
  collectgarbage()
  collectgarbage()
  local port = t.serve()
  local before = rss_kib()
  -- a slow client in a process of its own (a client in this process would hold what it read)
  local out = PATH .. ".got"
  assert(os.execute(("curl -s --limit-rate 2M -o %s http://127.0.0.1:%d/test/file-answer & echo $! > %s.pid")
    :format(out, port, out)))
  local most = 0
  for _ = 1, 10 do
    timer.sleep(50) -- the loop sends what the client's socket takes, then waits for the client
    most = math.max(most, rss_kib() - before)
  end
  os.execute(("kill $(cat %s.pid) 2>/dev/null"):format(out))
  local got = fs.stat(out)
  t.ok(got and got.size > 0, "the client was receiving it")
  t.ok(most < 4 * KIB, ("the server held at most %d KiB more while the client took its time"):format(most))
  fs.remove(out)
  fs.remove(out .. ".pid")
  fs.remove(PATH)
end)
