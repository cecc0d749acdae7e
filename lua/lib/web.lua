-- Requests and responses. A handler gets the request table from the host (method, path,
-- query, headers, body, peer) plus params (path parameters) and user/session once signed in,
-- and returns a response made by the functions below (or raises an errors.* value).
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"

local M = {}

-- Sent with every answer (the host adds them in C; the in-process test client merges them).
M.common_headers = {
  ["X-Content-Type-Options"] = "nosniff",
  ["X-Frame-Options"] = "DENY",
  ["Referrer-Policy"] = "same-origin",
  ["Cross-Origin-Opener-Policy"] = "same-origin",
  ["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()",
  ["Content-Security-Policy"] = "default-src 'self'; script-src 'self'; style-src 'self'; "
    .. "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    .. "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
}

function M.common_header_lines()
  local names = {}
  for k in pairs(M.common_headers) do names[#names + 1] = k end
  table.sort(names)
  local out = {}
  for _, k in ipairs(names) do out[#out + 1] = k .. ": " .. M.common_headers[k] .. "\r\n" end
  return table.concat(out)
end

-- text parsed as a query string once, kept on req under key; 400 when it is not acceptable.
local function parsed(req, key, text)
  local v = req[key]
  if not v then
    local err
    v, err = util.parse_query(text)
    if not v then errors.bad_request(err.message) end
    req[key] = v
  end
  return v
end

--- Parsed query string (cached on the request).
function M.query(req)
  return parsed(req, "_query", req.query)
end

--- Parsed form body (application/x-www-form-urlencoded).
function M.form(req)
  if req._form then return req._form end
  local ct = req.headers["content-type"] or ""
  if ct ~= "" and not ct:find("application/x-www-form-urlencoded", 1, true) then
    errors.raise(415, "unsupported_media_type", "Send the form as application/x-www-form-urlencoded.")
  end
  return parsed(req, "_form", req.body)
end

local function no_nul(v)
  local t = type(v)
  if t == "string" then
    return not v:find("\0", 1, true)
  elseif t == "table" then
    for k, x in pairs(v) do
      if not no_nul(k) or not no_nul(x) then return false end
    end
  end
  return true
end

--- Parsed JSON body (an object); 400 when missing, malformed or not an object, 415 on another type.
function M.body(req)
  if req._json ~= nil then return req._json end
  local ct = req.headers["content-type"] or ""
  if not ct:find("application/json", 1, true) then
    errors.raise(415, "unsupported_media_type", "Send the body as application/json.")
  end
  local v, err = json.decode(req.body)
  -- a JSON array decodes to a table too: only an object is a body ({ name = value })
  if type(v) ~= "table" or not req.body:match("^%s*{") then
    errors.bad_request("The body is not a JSON object: " .. (err and err.message or "wrong type"))
  end
  if not no_nul(v) then errors.bad_request("The body contains NUL characters.") end
  req._json = v
  return v
end

--- Parsed multipart/form-data body (a form with a file input): fields (name -> text) and
--- files (name -> { filename =, type =, data = }). 400 when it is not well-formed, 415 on
--- another type. Cached on the request.
function M.multipart(req)
  if req._multipart then return req._multipart end
  local ct = req.headers["content-type"] or ""
  if not ct:lower():find("multipart/form-data", 1, true) then
    errors.raise(415, "unsupported_media_type", "Send the form as multipart/form-data.")
  end
  local boundary = ct:match('[Bb]oundary="([^"]+)"') or ct:match("[Bb]oundary=([^;%s]+)")
  if not boundary or #boundary > 200 then errors.bad_request("The form has no boundary.") end
  local body, delim = req.body or "", "--" .. boundary
  local fields, files = {}, {}
  local pos = body:find(delim, 1, true)
  if not pos then errors.bad_request("The form is empty or malformed.") end
  pos = pos + #delim
  while true do
    if body:sub(pos, pos + 1) == "--" then break end
    if body:sub(pos, pos + 1) ~= "\r\n" then errors.bad_request("The form is malformed.") end
    local head_end = body:find("\r\n\r\n", pos + 2, true)
    if not head_end then errors.bad_request("The form is malformed.") end
    local head = body:sub(pos + 2, head_end - 1)
    local next_at = body:find("\r\n" .. delim, head_end + 4, true)
    if not next_at then errors.bad_request("The form is cut short.") end
    local data = body:sub(head_end + 4, next_at - 1)
    local disp = head:match("[Cc]ontent%-[Dd]isposition:%s*form%-data;([^\r\n]*)")
    local name = disp and disp:match('name="([^"]*)"')
    if not name then errors.bad_request("A part of the form has no name.") end
    local filename = disp:match('filename="([^"]*)"')
    if filename then
      files[name] = { filename = filename, type = head:match("[Cc]ontent%-[Tt]ype:%s*([^\r\n]+)"), data = data }
    else
      if data:find("\0", 1, true) then errors.bad_request("The form contains NUL characters.") end
      fields[name] = data
    end
    pos = next_at + 2 + #delim
  end
  req._multipart = { fields = fields, files = files }
  return req._multipart
end

--- Form or JSON, whichever the request sent.
function M.input(req)
  local ct = req.headers["content-type"] or ""
  if ct:find("application/json", 1, true) then return M.body(req) end
  return M.form(req)
end

--- A cookie's value, or nil.
function M.cookie(req, name)
  local cookies = req._cookies
  if not cookies then
    cookies = {}
    for k, v in (req.headers.cookie or ""):gmatch("([^=;%s]+)=([^;]*)") do
      if cookies[k] == nil then cookies[k] = v end
    end
    req._cookies = cookies
  end
  return cookies[name]
end

--- A Set-Cookie value. opts: max_age (seconds; 0 deletes), http_only (default true),
--- same_site (default "Lax"), secure, path (default "/").
function M.cookie_header(name, value, opts)
  opts = opts or {}
  local parts = { name .. "=" .. value, "Path=" .. (opts.path or "/") }
  if opts.max_age then parts[#parts + 1] = "Max-Age=" .. opts.max_age end
  if opts.http_only ~= false then parts[#parts + 1] = "HttpOnly" end
  parts[#parts + 1] = "SameSite=" .. (opts.same_site or "Lax")
  if opts.secure then parts[#parts + 1] = "Secure" end
  return table.concat(parts, "; ")
end

--- Adds a header to a response (a list when repeated, e.g. Set-Cookie).
function M.add_header(res, name, value)
  res.headers = res.headers or {}
  local cur = res.headers[name]
  if cur == nil then
    res.headers[name] = value
  elseif type(cur) == "table" then
    cur[#cur + 1] = value
  else
    res.headers[name] = { cur, value }
  end
  return res
end

local function response(status, ctype, body, headers)
  local h = { ["Content-Type"] = ctype, ["Cache-Control"] = "no-store" }
  if headers then for k, v in pairs(headers) do h[k] = v end end
  return { status = status, headers = h, body = body }
end

function M.json(status, value, headers)
  return response(status, "application/json", json.encode(value), headers)
end

--- A JSON answer whose body is already encoded.
function M.json_text(status, text, headers)
  return response(status, "application/json", text, headers)
end

function M.html(status, body, headers)
  return response(status, "text/html; charset=utf-8", body, headers)
end

function M.text(status, body, headers)
  return response(status, "text/plain; charset=utf-8", body, headers)
end

--- A download: body with a type and a file name. body is the bytes, or { file = path }: a file on
--- disk the host sends a piece at a time as the client takes it (a large export is never held in
--- memory; core/http.c http_respond_file).
function M.file(body, ctype, filename)
  -- an ASCII name for old clients (accents dropped, other characters as _), and the name as
  -- written, in UTF-8 (RFC 6266 filename*, percent-encoded as RFC 5987 says), when it differs
  filename = util.utf8_clean(filename)
  local ascii = util.ascii(filename):gsub("[^%w%._%-]+", "_"):gsub("[_%-]*_[_%-]*", "_")
  local cd = ('attachment; filename="%s"'):format(ascii)
  if ascii ~= filename then
    cd = cd .. "; filename*=UTF-8''"
      .. filename:gsub("[^%w!#%$&%+%-%.%^_`|~]", function(c) return ("%%%02X"):format(c:byte()) end)
  end
  return response(200, ctype, body, { ["Content-Disposition"] = cd })
end

--- target when it is a path on this site made only of URL characters, else fallback: it starts
--- with one "/" (not "//", which browsers read as another site), has no control characters,
--- spaces, backslashes or raw non-ASCII bytes (a browser drops a tab and turns "\" into "/"),
--- every "%" starts a two-digit escape, and it is at most 2,000 characters long. Every
--- redirect to an address a visitor chose (?next=) goes through it.
function M.local_path(target, fallback)
  if type(target) ~= "string" or #target > 2000 or target:sub(1, 1) ~= "/" or target:sub(2, 2) == "/"
    or target:find("[^%w%-%._~!%$&'%(%)%*%+,;=:@/%?#%%%[%]]")
    or target:gsub("%%%x%x", ""):find("%", 1, true) then
    return fallback
  end
  return target
end

--- Redirect (303 See Other after a form post by default). Only local paths (M.local_path) are
--- allowed: anything else goes to "/".
function M.redirect(location, status)
  location = M.local_path(location, "/")
  return { status = status or 303, headers = { Location = location, ["Cache-Control"] = "no-store" }, body = "" }
end

function M.no_content()
  return { status = 204, headers = { ["Cache-Control"] = "no-store" }, body = "" }
end

--- The JSON error shape for an application error.
function M.error_json(e, headers)
  local body = { error = { code = e.code, message = e.message } }
  if e.fields then body.error.fields = e.fields end
  if e.details then body.error.details = e.details end
  local h = headers or {}
  if e.retry_after then h["Retry-After"] = tostring(math.ceil(e.retry_after)) end
  if e.allow then h["Allow"] = e.allow end
  return M.json(e.status, body, h)
end

--- Whether the client would rather have HTML (pages) than JSON.
function M.wants_html(req)
  if req.path:sub(1, 5) == "/api/" then return false end
  local accept = req.headers and req.headers.accept or ""
  return accept:find("text/html", 1, true) ~= nil
end

return M
