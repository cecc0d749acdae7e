-- Badges: HR Admins add, rename, reorder, retire them and upload an image. An image is checked
-- by its content and size; a refused file changes nothing. Images are served with their checked
-- type, never sniffed, and an SVG cannot run anything.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

t.demo()
local function as(key) return t.login(demo.email(key)) end
local marcus, zoe = as("marcus"), as("zoe")

-- A real 2x3 PNG (IHDR, IDAT, IEND) built here.
local function png(w, h)
  local function be32(n) return string.pack(">I4", n) end
  local function chunk(kind, data)
    return be32(#data) .. kind .. data .. be32(0) -- the CRC is not checked by the server
  end
  return "\137PNG\r\n\26\n" .. chunk("IHDR", be32(w) .. be32(h) .. "\8\2\0\0\0") .. chunk("IDAT", "\120\156\99\0\0\0\1\0\1")
    .. chunk("IEND", "")
end

local SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>Star</title>'
  .. '<circle cx="5" cy="5" r="4" fill="#f59e0b" stroke="url(#g)"/></svg>'

local function put_image(client, id, body)
  return client:request("PUT", "/api/badges/" .. id .. "/image", { body = body, headers = { ["content-type"] = "application/octet-stream" } })
end

local function stored(id) return db.row("SELECT image, image_type, image_rev FROM badges WHERE id = ?", id) end

t.test("a default set ships, in order, and everyone may list the active ones", function()
  local list = t.status(zoe:get("/api/badges"), 200).json.items
  t.eq(#list, 6)
  t.eq(list[1].title, "Above and beyond")
  t.eq(list[6].title, "Thank you")
end)

t.test("only HR Admins configure badges", function()
  for _, key in ipairs({ "zoe", "lena", "tom" }) do
    t.status(as(key):post("/api/badges", { title = "Nope" }), 403, key)
    t.status(put_image(as(key), 1, png(2, 3)), 403, key)
  end
  t.status(zoe:get("/admin/praise/badges"), 403)
end)

t.test("HR Admins add, rename, reorder and retire badges; a retired one can no longer be picked", function()
  local b = t.status(marcus:post("/api/badges", { title = "Customer obsessed", symbol = "💎" }), 201).json
  t.eq(b.position, 7)
  t.status(marcus:patch("/api/badges/" .. b.id, { title = "Customer first", position = "up" }), 200)
  local list = t.status(marcus:get("/api/badges?all=1"), 200).json.items
  t.eq(list[6].title, "Customer first")
  t.status(marcus:patch("/api/badges/" .. b.id, { active = false }), 200)
  t.eq(#t.status(zoe:get("/api/badges"), 200).json.items, 6, "retired: not offered")
  local res = zoe:post("/api/messages", { kind = "praise", text = "x", recipient_ids = { t.demo().ethan.id }, badge_id = b.id })
  t.status(res, 422)
  t.status(marcus:post("/api/badges", { title = "" }), 422)
  t.status(marcus:post("/api/badges", { title = "Two", symbol = "abc" }), 422)
end)

t.test("a real PNG is stored and served with its type, nosniff and a sandboxing policy", function()
  local before = stored(1).image_rev
  local res = t.status(put_image(marcus, 1, png(2, 3)), 200).json
  t.eq(res.type, "image/png")
  t.eq(res.width, 2)
  t.eq(stored(1).image_rev, before + 1)
  local img = t.status(zoe:get("/badges/1/image"), 200)
  t.eq(img.headers["content-type"], "image/png")
  t.eq(img.headers["x-content-type-options"], "nosniff")
  t.contains(img.headers["content-security-policy"], "default-src 'none'")
  t.contains(img.headers["content-security-policy"], "sandbox")
  t.eq(img.body, png(2, 3))
end)

t.test("a clean SVG is re-written and served as SVG under a policy that forbids scripts", function()
  t.status(put_image(marcus, 2, SVG), 200)
  local img = t.status(zoe:get("/badges/2/image"), 200)
  t.eq(img.headers["content-type"], "image/svg+xml")
  t.contains(img.headers["content-security-policy"], "default-src 'none'")
  t.contains(img.body, '<circle cx="5" cy="5" r="4"')
end)

local BAD = {
  { "a PNG that is really HTML", "<!doctype html><html><body><script>alert(1)</script></body></html>", "not a PNG, JPEG or SVG" },
  { "a PNG with HTML after its end", png(2, 3) .. "<script>alert(1)</script>", "after its end" },
  { "an SVG with a script", SVG:gsub("<title>", "<script>alert(1)</script><title>"), "a script" },
  { "an SVG with an onload handler", SVG:gsub('viewBox', 'onload="alert(1)" viewBox'), "event handler" },
  { "an SVG with an external href", SVG:gsub("<title>Star</title>", '<use href="https://evil.example/x.svg#a"/>'), "outside the image" },
  { "an SVG with a javascript: link", SVG:gsub("<title>Star</title>", '<a href="javascript:alert(1)"><circle r="1"/></a>'), "a link" },
  { "an SVG with foreignObject", SVG:gsub("<title>Star</title>", "<foreignObject><div>x</div></foreignObject>"), "foreignObject" },
  { "an SVG with an external url() fill", SVG:gsub('fill="#f59e0b"', 'fill="url(https://evil.example/p)"'), "outside the image" },
  { "an SVG with an entity", '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]>' .. SVG, "DOCTYPE" },
  { "an SVG with a style sheet", SVG:gsub("<title>Star</title>", "<style>@import url(x.css)</style>"), "style sheet" },
  { "a PNG of 5000 pixels a side", png(5000, 10), "at most 2048x2048" },
  { "an image over 512 KB", png(2, 3) .. string.rep("\0", 600 * 1024), "at most 512 KB" },
  { "an empty body", "", "Choose an image" },
}
for _, case in ipairs(BAD) do
  t.test(case[1] .. " is refused with a clear 4xx and nothing is stored", function()
    local before = stored(3)
    local res = put_image(marcus, 3, case[2])
    t.status(res, 422)
    t.contains(res.json.error.message, case[3])
    local after = stored(3)
    t.eq(after.image, before.image)
    t.eq(after.image_rev, before.image_rev)
  end)
end

t.test("a 20 MB image is refused by the server before it reaches the application, nothing stored", function()
  local sock = t.socket()
  -- the head announces 20 MB and the first bytes follow: the server answers 413 at once
  local head = table.concat({ "PUT /api/badges/3/image HTTP/1.1", "Host: 127.0.0.1", "Content-Type: image/png",
    "Content-Length: " .. 20 * 1024 * 1024, "X-CSRF-Token: " .. marcus.csrf, "Cookie: " .. marcus:cookie_header(),
    "Origin: http://" .. t.HOST }, "\r\n") .. "\r\n\r\n"
  assert(sock:send(head .. png(2, 3)))
  local res = sock:response()
  t.eq(res.status, 413)
  sock:close()
  t.eq(stored(3).image, nil)
end)

t.test("the upload form posts multipart with its CSRF token; a refused file comes back as a message", function()
  local boundary = "----candorTest"
  local function multipart(fields, file)
    local parts = {}
    for k, v in pairs(fields) do
      parts[#parts + 1] = "--" .. boundary .. '\r\nContent-Disposition: form-data; name="' .. k .. '"\r\n\r\n' .. v .. "\r\n"
    end
    parts[#parts + 1] = "--" .. boundary .. '\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n'
      .. "Content-Type: image/png\r\n\r\n" .. file .. "\r\n--" .. boundary .. "--\r\n"
    return table.concat(parts)
  end
  local function upload(fields, file)
    return marcus:request("POST", "/admin/praise/badges/4/image", { body = multipart(fields, file),
      headers = { ["content-type"] = "multipart/form-data; boundary=" .. boundary, ["x-csrf-token"] = false } })
  end
  local res = upload({ csrf_token = "wrong" }, png(2, 3))
  t.status(res, 403, "a wrong token")
  t.eq(stored(4).image, nil)
  res = upload({ csrf_token = marcus.csrf }, "<html>nope</html>")
  t.status(res, 303)
  t.contains(marcus:follow(res).body, "not a PNG, JPEG or SVG")
  t.eq(stored(4).image, nil)
  res = upload({ csrf_token = marcus.csrf }, png(4, 4))
  t.status(res, 303)
  t.eq(stored(4).image_type, "image/png")
end)
