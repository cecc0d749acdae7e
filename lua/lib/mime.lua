-- Builds RFC 5322 mail messages: CRLF line ends, RFC 2047 encoded-words for non-ASCII header
-- text, UTF-8 bodies as quoted-printable, multipart/alternative when there is both a text and
-- an HTML body, Date and Message-ID headers. Header values with CR, LF or NUL are refused, so
-- user-supplied names and subjects cannot add headers.
--
--   local text, info = mime.build{
--     from = { name = "Candor", email = "candor@example.com" },
--     to = { { name = "Zoë Martin", email = "zoe@example.com" } },   -- or "zoe@example.com"
--     cc = {...}, bcc = {...}, reply_to = {...},
--     subject = "Your review is ready", text = "...", html = "...",
--     headers = { ["Auto-Submitted"] = "auto-generated" },
--   }
--   -- info = { from = envelope sender, recipients = to+cc+bcc addresses, message_id = "<...>" }
--   mail.send{ url = ..., from = info.from, to = info.recipients, message = text }
--
-- Returns nil, { code = "invalid", message = ... } when an address or header value is not
-- acceptable.
local clock = require "core.clock"
local crypto = require "core.crypto"

local M = {}

local CRLF = "\r\n"
local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

-- Headers the builder writes itself; extra headers may not replace them.
local RESERVED = {
  ["from"] = true, ["to"] = true, ["cc"] = true, ["bcc"] = true, ["reply-to"] = true, ["subject"] = true,
  ["date"] = true, ["message-id"] = true, ["mime-version"] = true, ["sender"] = true,
  ["content-type"] = true, ["content-transfer-encoding"] = true,
}

local Invalid = {}

local function invalid(fmt, ...)
  error(setmetatable({ code = "invalid", message = fmt:format(...) }, Invalid), 0)
end

local function check_text(value, what)
  if type(value) ~= "string" then invalid("%s must be text", what) end
  if value:find("[\r\n%z]") then invalid("%s must not contain line breaks or NUL", what) end
  if not utf8.len(value) then invalid("%s is not valid UTF-8", what) end
  return value
end

local function is_ascii(s) return not s:find("[\128-\255]") end

--- RFC 5322 date for seconds since the epoch, in UTC: "Mon, 05 Jan 2026 09:00:00 +0000".
function M.date(secs)
  local t = os.date("!*t", secs)
  return ("%s, %02d %s %04d %02d:%02d:%02d +0000"):format(DAYS[t.wday], t.day, MONTHS[t.month], t.year,
    t.hour, t.min, t.sec)
end

-- Splits UTF-8 text into pieces of at most max bytes, never inside a character.
local function utf8_chunks(s, max)
  local out, cur = {}, {}
  local len = 0
  for _, c in utf8.codes(s) do
    local ch = utf8.char(c)
    if len + #ch > max and len > 0 then
      out[#out + 1] = table.concat(cur)
      cur, len = {}, 0
    end
    cur[#cur + 1] = ch
    len = len + #ch
  end
  if len > 0 then out[#out + 1] = table.concat(cur) end
  return out
end

--- RFC 2047 encoded-words for s ("=?UTF-8?B?...?="), each at most 75 characters (68, so that
--- "Subject: " and one word fit in 78); returns a list.
function M.encode_words(s)
  local words = {}
  for _, piece in ipairs(utf8_chunks(s, 42)) do -- 42 bytes -> 56 base64 characters -> 68 in all
    words[#words + 1] = "=?UTF-8?B?" .. crypto.b64(piece, true) .. "?="
  end
  return words
end

-- Folds a header "Name: value" made of tokens (strings that must stay whole) so that lines
-- stay within 78 characters where possible; continuation lines start with a space.
local function fold(name, tokens, sep)
  local lines = {}
  local line = name .. ":"
  local glue = sep:match("^(.-)%s*$") -- what stays at the end of a line when it breaks: "," or ""
  for i, tok in ipairs(tokens) do
    local joined = (i == 1 and " " or sep) .. tok
    if #line + #joined > 78 then
      -- a break before the first token leaves "Name:" alone on its line (folding white space)
      lines[#lines + 1] = line .. (i > 1 and glue or "")
      line = " " .. tok
    else
      line = line .. joined
    end
  end
  lines[#lines + 1] = line
  return table.concat(lines, CRLF)
end

-- Unstructured text (Subject, extra headers): words as they are, or encoded-words.
local function unstructured(name, value)
  if is_ascii(value) then
    local words = {}
    for w in value:gmatch("%S+") do words[#words + 1] = w end
    if #words == 0 then return name .. ": " end
    -- keep runs of spaces as written when nothing needs folding
    if #name + 2 + #value <= 78 then return name .. ": " .. value end
    return fold(name, words, " ")
  end
  return fold(name, M.encode_words(value), " ")
end

local ATEXT = "^[%w!#$%%&'*+/=?^_`{|}~%-]+$"

--- True when email looks like a usable ASCII address (local@domain.tld).
function M.valid_email(email)
  if type(email) ~= "string" or #email > 254 or not is_ascii(email) then return false end
  local localpart, domain = email:match("^(.+)@([^@]+)$")
  if not localpart or #localpart > 64 then return false end
  for atom in (localpart .. "."):gmatch("(.-)%.") do
    if atom == "" or not atom:match(ATEXT) then return false end
  end
  if not domain:find(".", 1, true) then return false end
  for label in (domain .. "."):gmatch("(.-)%.") do
    if label == "" or #label > 63 or not label:match("^[%w%-]+$") or label:sub(1, 1) == "-" or label:sub(-1) == "-" then
      return false
    end
  end
  return true
end

-- A display name as a phrase: atoms, a quoted string, or encoded-words.
local function phrase(name)
  if not is_ascii(name) then return table.concat(M.encode_words(name), " ") end
  if name:match("^[%w!#$%%&'*+/=?^_`{|}~%- ]+$") then return name end
  return '"' .. name:gsub('[\\"]', "\\%0") .. '"'
end

-- {name=, email=} or "email" -> name, email (checked)
local function address(a, what)
  local name, email
  if type(a) == "string" then
    email = a
  elseif type(a) == "table" then
    name, email = a.name, a.email
  else
    invalid("%s must be an address", what)
  end
  if type(email) ~= "string" then invalid("%s has no email", what) end
  check_text(email, what)
  if not M.valid_email(email) then invalid("%s: %q is not a usable email address", what, email) end
  if name ~= nil and name ~= "" then check_text(name, what .. " name") else name = nil end
  return name, email
end

-- A list of addresses: one address, or an array of them.
local function address_list(v, what)
  if v == nil then return {} end
  if type(v) == "string" or (type(v) == "table" and v.email) then v = { v } end
  if type(v) ~= "table" then invalid("%s must be a list of addresses", what) end
  local out = {}
  for i, a in ipairs(v) do
    local name, email = address(a, ("%s[%d]"):format(what, i))
    out[#out + 1] = { name = name, email = email }
  end
  return out
end

local function address_header(name, list)
  local tokens = {}
  for _, a in ipairs(list) do
    tokens[#tokens + 1] = a.name and (phrase(a.name) .. " <" .. a.email .. ">") or a.email
  end
  return fold(name, tokens, ", ")
end

--- Quoted-printable (RFC 2045) of UTF-8 text: any line ends become CRLF, lines at most 76
--- characters with soft breaks, trailing spaces and "From " at a line start encoded.
function M.quoted_printable(text)
  text = text:gsub("\r\n", "\n"):gsub("\r", "\n")
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do
    local tokens = {}
    for i = 1, #line do
      local b = line:byte(i)
      local c = line:sub(i, i)
      if (b >= 33 and b <= 126 and b ~= 61) or ((b == 32 or b == 9) and i < #line) then
        tokens[#tokens + 1] = c
      else
        tokens[#tokens + 1] = ("=%02X"):format(b)
      end
    end
    if line:sub(1, 5) == "From " then tokens[1] = "=46" end
    local cur, len = {}, 0
    for _, tok in ipairs(tokens) do
      if len + #tok > 75 then
        out[#out + 1] = table.concat(cur) .. "="
        cur, len = {}, 0
      end
      cur[#cur + 1] = tok
      len = len + #tok
    end
    out[#out + 1] = table.concat(cur)
  end
  return table.concat(out, CRLF)
end

local function text_part(subtype, body)
  check_text((body:gsub("[\r\n]", "")), subtype .. " body") -- UTF-8 and no NUL; line breaks are fine
  return "Content-Type: text/" .. subtype .. "; charset=utf-8" .. CRLF ..
    "Content-Transfer-Encoding: quoted-printable" .. CRLF .. CRLF ..
    M.quoted_printable(body) .. CRLF
end

local function build(m)
  if type(m) ~= "table" then error("mime.build takes a table", 3) end
  local from_list = address_list(m.from, "from")
  if #from_list ~= 1 then invalid("from must be one address") end
  local from = from_list[1]
  local to = address_list(m.to, "to")
  local cc = address_list(m.cc, "cc")
  local bcc = address_list(m.bcc, "bcc")
  local reply_to = address_list(m.reply_to, "reply_to")
  if #to + #cc + #bcc == 0 then invalid("the message has no recipient") end
  local subject = check_text(m.subject or "", "subject")
  if m.text == nil and m.html == nil then invalid("the message has no text and no html body") end
  if m.text ~= nil and type(m.text) ~= "string" then invalid("text must be a string") end
  if m.html ~= nil and type(m.html) ~= "string" then invalid("html must be a string") end

  local domain = from.email:match("@(.+)$")
  local message_id = m.message_id or ("<%s@%s>"):format(crypto.hex(crypto.random(16)), domain)
  check_text(message_id, "message_id")
  local h = {
    "Date: " .. M.date(math.floor(m.date or clock.now())),
    address_header("From", { from }),
  }
  if #reply_to > 0 then h[#h + 1] = address_header("Reply-To", reply_to) end
  if #to > 0 then h[#h + 1] = address_header("To", to) end
  if #cc > 0 then h[#h + 1] = address_header("Cc", cc) end
  h[#h + 1] = unstructured("Subject", subject)
  h[#h + 1] = "Message-ID: " .. message_id
  h[#h + 1] = "MIME-Version: 1.0"

  local names = {}
  for k, v in pairs(m.headers or {}) do
    if type(k) ~= "string" or not k:match("^[!-9;-~]+$") then invalid("header name %q is not valid", tostring(k)) end
    if RESERVED[k:lower()] then invalid("header %s is written by the builder", k) end
    check_text(v, "header " .. k)
    names[#names + 1] = k
  end
  table.sort(names)
  for _, k in ipairs(names) do h[#h + 1] = unstructured(k, m.headers[k]) end

  local body
  if m.text and m.html then
    local boundary = "=_candor_" .. crypto.hex(crypto.random(12))
    h[#h + 1] = 'Content-Type: multipart/alternative; boundary="' .. boundary .. '"'
    body = "This is a message in MIME format." .. CRLF ..
      "--" .. boundary .. CRLF .. text_part("plain", m.text) ..
      "--" .. boundary .. CRLF .. text_part("html", m.html) ..
      "--" .. boundary .. "--" .. CRLF
  else
    local part = m.text and text_part("plain", m.text) or text_part("html", m.html)
    local head, rest = part:match("^(.-)\r\n\r\n(.*)$")
    h[#h + 1] = head
    body = rest
  end

  local recipients = {}
  for _, list in ipairs({ to, cc, bcc }) do
    for _, a in ipairs(list) do recipients[#recipients + 1] = a.email end
  end
  return table.concat(h, CRLF) .. CRLF .. CRLF .. body,
    { from = from.email, recipients = recipients, message_id = message_id }
end

--- Builds the message text: text, info | nil, {code = "invalid", message = ...}.
function M.build(m)
  local ok, text, info = pcall(build, m)
  if ok then return text, info end
  if getmetatable(text) == Invalid then return nil, { code = text.code, message = text.message } end
  error(text, 2)
end

return M
