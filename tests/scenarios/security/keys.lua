-- Master key rotation on a real data folder (files in a temp dir): every encrypted value moves
-- to the new key in batches, a running server keeps reading throughout (it reloads the key
-- file), the old key leaves the file only when nothing uses it, and a value that does not
-- decrypt stops the rotation with the old key kept.
local t = require "testing"
local app = require "app"
local demo = require "demo"
local db = require "lib.db"
local crypt = require "lib.crypt"
local crypto = require "core.crypto"
local keys = require "services.keys"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")

local PORTS = { 18611, 18619 } -- the first free one is used
local PORT, BASE
local dir = canary.file_backed()
local q = canary.sh_quote
local bin = canary.candor_binary()
local env = "CANDOR_APP=" .. q(app.app_dir) .. " "
local server_pid
local jar = dir .. "/cookies.txt"
local zoe_secret
local EXTRA = 560 -- people with 2-step on besides the demo company, so there are several batches

local function key_file_ids()
  local ids = {}
  for id in canary.read(dir .. "/master.key"):gmatch("candor%-key 1 (%d+) %x+") do ids[#ids + 1] = tonumber(id) end
  return ids
end

local function curl(args)
  local _, out = canary.run("curl -s --max-time 20 -b " .. q(jar) .. " -c " .. q(jar) .. " " .. args)
  return out
end

-- What the running server shows Zoe on her 2-step setup page: it decrypts her pending secret.
local function server_shows_secret()
  local body = curl(q(BASE .. "/account/security/setup"))
  return body:match('data%-secret="([A-Z2-7]+)"')
end

local function every_value_opens()
  local n = 0
  for _, r in ipairs(db.query("SELECT user_id, secret_enc FROM user_totp")) do
    if not crypt.try_open("user_totp", "secret_enc", { r.user_id }, r.secret_enc) then return false, r.user_id end
    n = n + 1
  end
  return true, n
end

t.test("set up: a data folder with many encrypted values and a server running on it", function()
  -- Zoe starts setting up 2-step (her secret waits, encrypted, for its first code)
  local zoe = t.login(demo.email("zoe"))
  zoe_secret = t.status(zoe:post("/api/account/2fa/setup"), 200).json.secret
  -- and many more people have 2-step on
  db.transaction(function()
    for i = 1, EXTRA do
      local id = db.insert("INSERT INTO users(email, name, status, kind, created_at, updated_at) VALUES(?,?, 'active', "
        .. "'employee', 0, 0)", ("person%d@northwind.example"):format(i), "Person " .. i)
      db.exec("INSERT INTO user_totp(user_id, secret_enc, confirmed_at, last_step) VALUES(?,?,1,0)", id,
        crypt.seal("user_totp", "secret_enc", { id }, require("core.totp").new_secret()))
    end
  end)
  require("core.db").checkpoint()
  local up = false
  for port = PORTS[1], PORTS[2] do
    PORT, BASE = port, "http://127.0.0.1:" .. port
    -- a port where another server answers already (another checkout's tests) is skipped
    if not curl(q(BASE .. "/healthz")):find('"ok"', 1, true) then
      local status, out = canary.run(env .. q(bin) .. " serve --data " .. q(dir) .. " --listen 127.0.0.1:" .. PORT
        .. " >" .. q(dir .. "/server.log") .. " 2>&1 & echo $!")
      t.eq(status, 0)
      server_pid = tonumber(out:match("%d+"))
      for _ = 1, 100 do
        if curl(q(BASE .. "/healthz")):find('"ok"', 1, true) then up = true break end
        if canary.run("kill -0 " .. math.tointeger(server_pid)) ~= 0 then break end -- it exited (port in use)
        canary.run("sleep 0.1")
      end
      if up then break end
      server_pid = nil
    end
  end
  t.ok(up, "the server answers: " .. canary.read(dir .. "/server.log"))
  local signin = curl("-H 'Content-Type: application/json' -d " .. q(('{"email":"%s","password":"%s"}')
    :format(demo.email("zoe"), t.DEMO_PASSWORD)) .. " " .. q(BASE .. "/api/session"))
  t.contains(signin, '"csrf_token"')
  t.eq(server_shows_secret(), zoe_secret, "before the rotation")
  t.same(key_file_ids(), { 1 })
end)

t.test("rotation re-encrypts everything in batches while the running server keeps reading", function()
  local lines, reads = {}, {}
  local res = keys.rotate{ key_file = dir .. "/master.key", batch = 100, wait_ms = 1100, progress = function(line)
    lines[#lines + 1] = line
    if line:match("^user_totp%.secret_enc: %d+/") then
      reads[#reads + 1] = server_shows_secret() -- a read through the server in the middle of the rotation
      t.same(key_file_ids(), { 1, 2 }, "both keys are in the file during the rotation")
    end
  end }
  t.eq(res.key, 2)
  t.same(res.removed, { 1 })
  local total = db.value("SELECT count(*) FROM user_totp")
  t.eq(res.values, total, "every value was re-encrypted")
  local batches = 0
  for _, l in ipairs(lines) do if l:match("^user_totp%.secret_enc: ") then batches = batches + 1 end end
  t.eq(batches, (total + 99) // 100, "one progress line per batch of 100")
  t.contains(table.concat(lines, "\n"), ("user_totp.secret_enc: 100/%d (%d%%)"):format(total, 100 * 100 // total))
  t.contains(table.concat(lines, "\n"), ("user_totp.secret_enc: %d/%d (100%%)"):format(total, total))
  t.eq(#reads, batches)
  for i, s in ipairs(reads) do t.eq(s, zoe_secret, "the server read Zoe's secret during batch " .. i) end
  t.same(key_file_ids(), { 2 }, "the old key is gone from the file")
  t.eq(keys.stale_total(2), 0)
  t.eq(db.value("SELECT count(*) FROM user_totp WHERE substr(secret_enc, 2, 4) <> x'00000002'"), 0)
  t.ok(every_value_opens())
  t.eq(server_shows_secret(), zoe_secret, "the server still reads after the old key left the file")
  t.contains(canary.read(dir .. "/server.log"), "reloaded the key file")
end)

t.test("`candor rotate-key` does the same from the command line; a reader with the old key file reloads", function()
  -- this test process now plays a second server: it loaded the key file with key 2 only
  t.same(crypto.key_ids(), { 2 })
  local status, out, err = canary.run(env .. q(bin) .. " rotate-key --data " .. q(dir))
  t.eq(status, 0, "exit status (stderr: " .. err .. ")")
  t.match(out, "added key 3")
  t.match(out, "user_totp%.secret_enc: %d+/%d+ %(100%%%)")
  t.match(out, "removed key 2 from the key file")
  t.match(out, "done: %d+ values re%-encrypted under key 3")
  t.same(key_file_ids(), { 3 })
  -- reading a value sealed with key 3 makes this process reload the file, then it opens
  local ok, n = every_value_opens()
  t.ok(ok, "every value opens after the reload")
  t.eq(n, db.value("SELECT count(*) FROM user_totp"))
  t.same(crypto.key_ids(), { 3 }, "this process reloaded the key file")
  t.eq(server_shows_secret(), zoe_secret, "and so did the running server")
end)

t.test("a value that does not decrypt stops the rotation and the old key stays", function()
  local a = db.value("SELECT user_id FROM user_totp ORDER BY user_id LIMIT 1")
  local b = db.value("SELECT user_id FROM user_totp ORDER BY user_id DESC LIMIT 1")
  local va = db.value("SELECT secret_enc FROM user_totp WHERE user_id = ?", a)
  local vb = db.value("SELECT secret_enc FROM user_totp WHERE user_id = ?", b)
  db.transaction(function()
    db.exec("UPDATE user_totp SET secret_enc = ? WHERE user_id = ?", db.blob(vb), a)
  end)
  local ok, err = pcall(keys.rotate, { key_file = dir .. "/master.key", wait_ms = 0 })
  t.no(ok, "the rotation went through with a broken value")
  t.contains(tostring(err), "cannot decrypt user_totp.secret_enc")
  t.same(key_file_ids(), { 3, 4 }, "the old key was not removed")
  db.transaction(function()
    db.exec("UPDATE user_totp SET secret_enc = ? WHERE user_id = ?", db.blob(va), a)
  end)
  local res = keys.rotate{ key_file = dir .. "/master.key", wait_ms = 0 }
  t.eq(res.key, 5)
  t.same(key_file_ids(), { 5 })
  t.ok(every_value_opens())
end)

t.test("rotating a new, empty data folder works too; then the server is stopped", function()
  t.ok(server_pid, "the server was running")
  os.execute("kill " .. math.tointeger(server_pid))
  local status = canary.run(env .. q(bin) .. " rotate-key --data " .. q(dir .. "/nothing-here"))
  -- a new, empty data folder gets a new key: rotating it works but has nothing to re-encrypt
  t.eq(status, 0)
  canary.cleanup(dir)
end)
