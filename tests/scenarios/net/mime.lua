-- Mail messages as RFC 5322 text: structure, encodings, and no header injection.
local t = require "testing"
local mime = require "lib.mime"
local crypto = require "core.crypto"

-- ---- small decoders, to read back what the builder wrote
local function split_message(text)
  local head, body = text:match("^(.-)\r\n\r\n(.*)$")
  local headers, order = {}, {}
  local unfolded = head:gsub("\r\n[ \t]", " ")
  for line in (unfolded .. "\r\n"):gmatch("(.-)\r\n") do
    local k, v = line:match("^([^:]+):%s?(.*)$")
    headers[k:lower()] = v
    order[#order + 1] = k
  end
  return headers, body, order, head
end

local function decode_words(s)
  s = s:gsub("%?=%s+=%?", "?==?") -- whitespace between encoded-words is not text
  return (s:gsub("=%?UTF%-8%?B%?([^?]*)%?=", function(b64) return crypto.unb64(b64, true) end))
end

local function decode_qp(s)
  s = s:gsub("=\r\n", "")
  return (s:gsub("=(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local BASE = {
  from = { name = "Candor", email = "candor@acme.example" },
  to = { { name = "Ana Lima", email = "ana@acme.example" } },
  subject = "Your self-assessment is due on Friday",
  text = "Hello Ana,\n\nPlease finish your self-assessment.\n",
}

local function with(over)
  local m = {}
  for k, v in pairs(BASE) do m[k] = v end
  for k, v in pairs(over or {}) do m[k] = v end
  return m
end

t.test("a plain message has CRLF line ends, Date, Message-ID and a quoted-printable body", function()
  local text, info = assert(mime.build(with()))
  t.no(text:find("[^\r]\n"), "every LF follows a CR")
  t.no(text:find("\r[^\n]"), "every CR is followed by LF")
  local h, body = split_message(text)
  t.eq(h.date, "Mon, 05 Jan 2026 09:00:00 +0000")
  t.eq(h.from, "Candor <candor@acme.example>")
  t.eq(h.to, "Ana Lima <ana@acme.example>")
  t.eq(h.subject, "Your self-assessment is due on Friday")
  t.match(h["message-id"], "^<%x+@acme%.example>$")
  t.eq(h["message-id"], info.message_id)
  t.eq(h["mime-version"], "1.0")
  t.eq(h["content-type"], "text/plain; charset=utf-8")
  t.eq(h["content-transfer-encoding"], "quoted-printable")
  t.eq(decode_qp(body), "Hello Ana,\r\n\r\nPlease finish your self-assessment.\r\n\r\n")
  t.same(info.recipients, { "ana@acme.example" })
  t.eq(info.from, "candor@acme.example")
end)

t.test("each message gets its own Message-ID", function()
  local _, a = mime.build(with())
  local _, b = mime.build(with())
  t.neq(a.message_id, b.message_id)
end)

t.test("non-ASCII subjects and names become RFC 2047 encoded-words", function()
  local subject = "Révision de mi-année : à vous de jouer ✍️ — " .. ("é"):rep(40)
  local text = assert(mime.build(with{ subject = subject,
    to = { { name = "Zoë Müller", email = "zoe@acme.example" } } }))
  local h, _, _, head = split_message(text)
  t.no(head:find("[\128-\255]"), "headers are 7-bit")
  t.eq(decode_words(h.subject), subject)
  t.eq(decode_words(h.to), "Zoë Müller <zoe@acme.example>")
  for word in head:gmatch("=%?UTF%-8%?B%?[^?]*%?=") do
    t.ok(#word <= 75, "encoded-word longer than 75: " .. word)
    t.ok(utf8.len(crypto.unb64(word:match("B%?(.*)%?="), true)), "a word splits a character")
  end
  for line in head:gmatch("[^\r\n]+") do t.ok(#line <= 78, "header line too long: " .. line) end
end)

t.test("UTF-8 bodies are quoted-printable, 7-bit, and decode to the original", function()
  local body_text = "Bonjour Zoë,\nVoici le résumé ✓\n" .. ("long line "):rep(30) .. "\ntrailing spaces   \n"
  local text = assert(mime.build(with{ text = body_text }))
  local _, body = split_message(text)
  t.no(body:find("[\128-\255]"), "the body is 7-bit")
  for line in body:gmatch("[^\r\n]+") do t.ok(#line <= 76, "line longer than 76: " .. line) end
  t.contains(body, "=20\r\n", "a trailing space is encoded")
  t.eq(decode_qp(body), (body_text:gsub("\n", "\r\n")) .. "\r\n")
  t.contains(body, "Zo=C3=AB")
end)

t.test("lines starting with a dot or 'From ' survive transport", function()
  local text = assert(mime.build(with{ text = ".\nFrom here on\n=3D" }))
  local _, body = split_message(text)
  t.contains(body, "\r\n=46rom here on\r\n")
  t.contains(body, "=3D3D")
  t.eq(decode_qp(body), ".\r\nFrom here on\r\n=3D\r\n")
end)

t.test("text and html together make multipart/alternative", function()
  local text = assert(mime.build(with{ html = "<p>Hello <b>Ana</b> — à bientôt</p>" }))
  local h, body = split_message(text)
  local boundary = h["content-type"]:match('^multipart/alternative; boundary="([^"]+)"$')
  t.ok(boundary, h["content-type"])
  t.eq(h["content-transfer-encoding"], nil)
  local parts, delim = {}, "--" .. boundary
  local pos = body:find(delim, 1, true)
  while pos do
    local start = pos + #delim
    if body:sub(start, start + 1) == "--" then break end
    local nextp = assert(body:find("\r\n" .. delim, start, true), "unterminated part")
    parts[#parts + 1] = body:sub(start + 2, nextp - 1)
    pos = nextp + 2
  end
  t.eq(#parts, 2)
  local h1, b1 = split_message(parts[1])
  local h2, b2 = split_message(parts[2])
  t.eq(h1["content-type"], "text/plain; charset=utf-8")
  t.eq(h2["content-type"], "text/html; charset=utf-8")
  t.eq(h2["content-transfer-encoding"], "quoted-printable")
  t.contains(decode_qp(b1), "Please finish your self-assessment.")
  t.eq(decode_qp(b2), "<p>Hello <b>Ana</b> — à bientôt</p>")
  t.contains(body, "--" .. boundary .. "--\r\n", "closing boundary")
end)

t.test("an html-only message is a single text/html part", function()
  local only = assert(mime.build{ from = BASE.from, to = BASE.to, subject = "x", html = "<p>Hi</p>" })
  t.eq(split_message(only)["content-type"], "text/html; charset=utf-8")
end)

t.test("cc and bcc: bcc is in the recipients but not in the headers", function()
  local text, info = assert(mime.build(with{ cc = { "hr@acme.example" },
    bcc = { { name = "Audit", email = "audit@acme.example" } },
    reply_to = { name = "HR team", email = "hr@acme.example" } }))
  local h = split_message(text)
  t.eq(h.cc, "hr@acme.example")
  t.eq(h.bcc, nil)
  t.not_contains(text, "audit@acme.example")
  t.eq(h["reply-to"], "HR team <hr@acme.example>")
  t.same(info.recipients, { "ana@acme.example", "hr@acme.example", "audit@acme.example" })
end)

t.test("display names with special characters are quoted", function()
  local text = assert(mime.build(with{ to = { { name = 'Lima, Ana "AL"', email = "ana@acme.example" } } }))
  t.eq(split_message(text).to, '"Lima, Ana \\"AL\\"" <ana@acme.example>')
end)

t.test("many recipients fold onto continuation lines", function()
  local to = {}
  for i = 1, 12 do to[i] = { name = "Person " .. i, email = ("p%d@acme.example"):format(i) } end
  local text = assert(mime.build(with{ to = to }))
  local _, _, _, head = split_message(text)
  for line in head:gmatch("[^\r\n]+") do t.ok(#line <= 78, "too long: " .. line) end
  t.contains(split_message(text).to, "Person 11 <p11@acme.example>, Person 12 <p12@acme.example>")
  local two = assert(mime.build(with{ to = { BASE.to[1], "ben@acme.example" } }))
  t.eq(split_message(two).to, "Ana Lima <ana@acme.example>, ben@acme.example")
end)

t.test("extra headers are added, sorted, and cannot replace the builder's own", function()
  local text = assert(mime.build(with{
    headers = { ["X-Candor-Template"] = "review_reminder", ["Auto-Submitted"] = "auto-generated" } }))
  local h, _, order = split_message(text)
  t.eq(h["x-candor-template"], "review_reminder")
  t.eq(h["auto-submitted"], "auto-generated")
  local a, x
  for i, k in ipairs(order) do
    if k == "Auto-Submitted" then a = i elseif k == "X-Candor-Template" then x = i end
  end
  t.ok(a < x)
  local _, err = mime.build(with{ headers = { From = "evil@acme.example" } })
  t.eq(err.code, "invalid")
  local _, err2 = mime.build(with{ headers = { ["Bad Name"] = "x" } })
  t.eq(err2.code, "invalid")
end)

t.test("header injection is refused: CR or LF in any header value", function()
  local cases = {
    with{ subject = "Hello\r\nBcc: everyone@evil.example" },
    with{ subject = "Hello\nBcc: everyone@evil.example" },
    with{ to = { { name = "Ana\r\nBcc: x@evil.example", email = "ana@acme.example" } } },
    with{ from = { name = "Candor\n", email = "candor@acme.example" } },
    with{ to = { "ana@acme.example\r\nBcc: x@evil.example" } },
    with{ headers = { ["X-Note"] = "a\r\nBcc: x@evil.example" } },
    with{ subject = "nul\0byte" },
  }
  for i, m in ipairs(cases) do
    local text, err = mime.build(m)
    t.eq(text, nil, "case " .. i)
    t.eq(err.code, "invalid", "case " .. i)
  end
end)

t.test("addresses must be usable", function()
  for _, bad in ipairs({ "no-at-sign", "a@b", "a b@acme.example", "<a@acme.example>", "a@acme..example",
                         "zoë@acme.example", "a@-acme.example", ("x"):rep(65) .. "@acme.example" }) do
    local _, err = mime.build(with{ to = { bad } })
    t.eq(err and err.code, "invalid", bad)
  end
  t.ok(mime.valid_email("first.last+tag@mail.acme.example"))
  local _, err = mime.build(with{ to = {} })
  t.contains(err.message, "no recipient")
  local _, err2 = mime.build{ from = BASE.from, to = BASE.to, subject = "x" }
  t.contains(err2.message, "no text and no html")
end)
