-- Encryption at rest, checked on the files: confidential text written through the API (today
-- the TOTP secrets; review answers and the rest add their writer to canary_lib.check) is
-- nowhere in plain text in the database file, its WAL or a backup, and ciphertexts swapped
-- between rows do not open.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local totp = require "core.totp"
local canary = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "canary_lib.lua")

local dir = canary.file_backed()

-- Enrols email in 2-step through the API; returns the secret the API showed.
local function enrol(email)
  local c = t.login(email)
  local secret = t.status(c:post("/api/account/2fa/setup"), 200).json.secret
  t.status(c:post("/api/account/2fa/confirm", { code = totp.code(secret, t.now()) }), 200)
  return secret
end

t.test("TOTP secrets written through the API are not in the database, the WAL or a backup", function()
  local r = canary.check{ dir = dir, write = function()
    return { enrol(demo.email("zoe")), enrol(demo.email("leo")) }
  end }
  t.ok(r.sizes.wal > 0 and r.sizes.db > 0 and r.sizes.backup > 0, "the files were read")
end)

t.test("the check itself fails when a secret is stored in plain text", function()
  -- a column that is not encrypted (the outbox subject) stands in for a forgotten encryption
  local ok, err = pcall(canary.check, { dir = dir, write = function()
    local sentence = "Plain canary " .. require("core.crypto").hex(require("core.crypto").random(6))
    db.transaction(function()
      db.exec([[INSERT INTO outbox(created_at, template, to_email, subject, body_text) VALUES(?,?,?,?,?)]],
        t.now(), "test", "x@example.com", sentence, "-")
    end)
    return sentence
  end })
  t.no(ok, "the check passed although the sentence was stored in plain text")
  t.contains(tostring(type(err) == "table" and err.message or err), "in plain text")
end)

t.test("swapping two TOTP ciphertexts between users makes both fail to decrypt", function()
  local zoe = db.value("SELECT id FROM users WHERE email = ?", demo.email("zoe"))
  local leo = db.value("SELECT id FROM users WHERE email = ?", demo.email("leo"))
  canary.swap_check{ table = "user_totp", column = "secret_enc", a = { zoe }, b = { leo }, read = function()
    -- Zoe signing in with a right code while the rows are swapped does not get in
    local c = t.client()
    local res = t.status(c:post("/api/session", { email = demo.email("zoe"), password = t.DEMO_PASSWORD }), 200)
    c.csrf = res.json.csrf_token
    t.advance("30s")
    local two = c:post("/api/session/2fa", { code = "123456" })
    t.eq(two.status, 500, "a ciphertext that does not open is an error, never a pass")
  end }
end)

t.test("clean up the temporary data folder", function()
  canary.cleanup(dir)
  t.no(io.open(dir .. "/candor.db", "rb"), "removed")
end)
