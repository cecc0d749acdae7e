-- core.totp: the 2-step verification codes (RFC 6238, HMAC-SHA1) that 2-step enrolment and
-- sign-in use. Time always comes from the caller (the virtual clock), never the real clock.
local t = require "testing"
local totp = require "core.totp"

-- RFC 6238 appendix B: the SHA1 seed is the ASCII "12345678901234567890" (base32 below)
local RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
local RFC_VECTORS = {
  { 59, "94287082" },
  { 1111111109, "07081804" },
  { 1111111111, "14050471" },
  { 1234567890, "89005924" },
  { 2000000000, "69279037" },
  { 20000000000, "65353130" },
}

t.test("a new secret is 160 random bits in base32", function()
  local a, b = totp.new_secret(), totp.new_secret()
  t.eq(#a, 32)
  t.match(a, "^[A-Z2-7]+$")
  t.neq(a, b, "two secrets differ")
  -- it is usable: a code made with it verifies
  local now = t.now()
  t.eq(totp.verify(a, totp.code(a, now), now), now // 30)
end)

t.test("codes match the RFC 6238 test vectors (SHA1, 8 digits)", function()
  for _, v in ipairs(RFC_VECTORS) do
    t.eq(totp.code(RFC_SECRET, v[1], 8), v[2], "time " .. v[1])
  end
end)

t.test("6-digit codes are the last six digits of the RFC codes", function()
  for _, v in ipairs(RFC_VECTORS) do
    t.eq(totp.code(RFC_SECRET, v[1]), v[2]:sub(3), "time " .. v[1])
  end
end)

t.test("verify accepts the RFC codes and answers their time-step number", function()
  for _, v in ipairs(RFC_VECTORS) do
    local step = totp.verify(RFC_SECRET, v[2], v[1])
    t.eq(step, v[1] // 30, "time " .. v[1])
    t.eq(math.type(step), "integer")
  end
end)

t.test("a code from one step before or after is accepted, two steps away refused", function()
  local secret = totp.new_secret()
  local now = t.now()
  local here = now // 30
  t.eq(totp.verify(secret, totp.code(secret, now - 30), now), here - 1, "previous step")
  t.eq(totp.verify(secret, totp.code(secret, now + 30), now), here + 1, "next step")
  t.eq(totp.verify(secret, totp.code(secret, now - 60), now), nil, "two steps ago")
  t.eq(totp.verify(secret, totp.code(secret, now + 60), now), nil, "two steps ahead")
  -- a wider window takes them; window 0 only the current step
  t.eq(totp.verify(secret, totp.code(secret, now - 60), now, 2), here - 2)
  t.eq(totp.verify(secret, totp.code(secret, now - 30), now, 0), nil)
  t.eq(totp.verify(secret, totp.code(secret, now), now, 0), here)
end)

t.test("the window moves with the virtual clock", function()
  local secret = totp.new_secret()
  local code = totp.code(secret, t.now())
  local step = t.now() // 30
  t.eq(totp.verify(secret, code, t.now()), step)
  t.advance("30s")
  t.eq(totp.verify(secret, code, t.now()), step, "still good one step later")
  t.advance("30s")
  t.eq(totp.verify(secret, code, t.now()), nil, "too old two steps later")
end)

t.test("the step number lets the caller refuse a code used twice", function()
  local secret = totp.new_secret()
  local last_step = nil
  local function sign_in(code)
    local step = totp.verify(secret, code, t.now())
    if not step or (last_step and step <= last_step) then return false end
    last_step = step
    return true
  end
  local code = totp.code(secret, t.now())
  t.ok(sign_in(code), "first use")
  t.no(sign_in(code), "second use of the same code")
  t.advance("30s")
  t.ok(sign_in(totp.code(secret, t.now())), "the next step's code")
end)

t.test("a step and digit count other than 30 s and 6 work", function()
  local secret = totp.new_secret()
  local code = totp.code(secret, 1000, 7, 60)
  t.eq(#code, 7)
  t.eq(totp.verify(secret, code, 1000, 1, 60), 1000 // 60)
  t.eq(totp.verify(secret, code, 1000 + 120, 1, 60), nil)
end)

t.test("malformed codes are refused without an error", function()
  local secret = totp.new_secret()
  local good = totp.code(secret, t.now())
  for _, bad in ipairs({ "", "12345", "123456789", "12a456", " " .. good, good .. " ", "１２３４５６", "000000" }) do
    if bad ~= good then t.eq(totp.verify(secret, bad, t.now()), nil, ("%q"):format(bad)) end
  end
  t.eq(totp.verify(secret, tonumber(good), t.now()), nil, "a number, not a string")
  t.eq(totp.verify(secret, nil, t.now()), nil, "no code")
end)

t.test("malformed secrets are refused with a clear error", function()
  for _, bad in ipairs({ "", "not base32!", "GEZDGNBV1", "GEZDGNBV", "ABCDEFGH" .. ("\0"):rep(8) }) do
    local err = t.raises(function() totp.code(bad, 59) end, "base32")
    t.contains(tostring(err), "bad argument #1")
    t.raises(function() totp.verify(bad, "123456", 59) end, "base32")
    t.raises(function() totp.uri(bad, "a@b.c", "Candor") end, "base32")
  end
  t.raises(function() totp.code(RFC_SECRET, -1) end, "time")
  t.raises(function() totp.code(RFC_SECRET, 59, 9) end, "digits")
  t.raises(function() totp.verify(RFC_SECRET, "94287082", 59, 11) end, "steps")
end)

t.test("secrets are read without case or spaces, as people type them", function()
  local spaced = RFC_SECRET:lower():gsub("(....)", "%1 ")
  t.eq(totp.code(spaced, 59, 8), "94287082")
end)

t.test("the otpauth URI percent-encodes the issuer and account", function()
  t.eq(totp.uri(RFC_SECRET, "zoë.müller+2fa@example.com", "Candor & Co"),
    "otpauth://totp/Candor%20%26%20Co:zo%C3%AB.m%C3%BCller%2B2fa%40example.com"
      .. "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Candor%20%26%20Co&algorithm=SHA1&digits=6&period=30")
  t.eq(totp.uri(RFC_SECRET:lower(), "a", "B"),
    "otpauth://totp/B:a?secret=" .. RFC_SECRET .. "&issuer=B&algorithm=SHA1&digits=6&period=30",
    "the secret is written in upper case")
  t.raises(function() totp.uri(RFC_SECRET, "a:b", "Candor") end, "':'")
  t.raises(function() totp.uri(RFC_SECRET, "a", "") end, "bad argument #3")
end)
