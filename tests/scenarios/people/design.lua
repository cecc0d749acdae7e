-- Administration › Design: a Tech Admin sets the company's name, brand colour, sign-in text and
-- logo; every page, the sign-in page included, shows them. A colour too light for white text, a
-- file that is not a safe image, an empty name are refused with the reason and change nothing.
-- Nobody but Tech Admins changes the design (admin.design), through the page or the API.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local design = require "services.design"

t.demo()
local function as(key) return t.login(demo.email(key)) end
local tom = as("tom") -- Tech Admin

-- A real 2x3 PNG (IHDR, IDAT, IEND).
local function png(w, h)
  local function be32(n) return string.pack(">I4", n) end
  local function chunk(kind, data) return be32(#data) .. kind .. data .. be32(0) end
  return "\137PNG\r\n\26\n" .. chunk("IHDR", be32(w) .. be32(h) .. "\8\2\0\0\0") .. chunk("IDAT", "\120\156\99\0\0\0\1\0\1")
    .. chunk("IEND", "")
end

local function put_logo(client, body)
  return client:request("PUT", "/api/design/logo", { body = body, headers = { ["content-type"] = "application/octet-stream" } })
end

-- Everything the design is made of, to compare before and after a refusal.
local function state()
  return { settings = db.query("SELECT key, value FROM settings WHERE key IN ('company.name', 'design.brand_color', "
      .. "'design.signin_text') ORDER BY key"), logo = db.row("SELECT type, rev, length(data) AS n FROM design_logo"),
    audits = db.value("SELECT count(*) FROM audit_log WHERE action LIKE 'settings.design%'") }
end

t.test("WCAG contrast with white: black 21:1, white 1:1, Candor's indigo passes, a yellow does not", function()
  t.eq(math.floor(design.contrast_with_white("#000000") + 0.5), 21)
  t.eq(design.contrast_with_white("#ffffff"), 1.0)
  t.ok(design.contrast_with_white(design.DEFAULT_COLOR) >= 4.5)
  t.ok(design.contrast_with_white("#ffd400") < 4.5)
end)

t.test("before any change pages use Candor's own look: no brand stylesheet, Candor's logo", function()
  local home = t.status(tom:get("/home"), 200).body
  t.not_contains(home, "/design/brand.css")
  t.not_contains(home, "/design/logo")
  t.contains(home, "<span>Candor</span>")
end)

t.test("a Tech Admin saves the name, colour and sign-in text; pages and the sign-in page show them", function()
  local res = t.status(tom:put("/api/design", { company_name = "Żak & Söhne 日本", brand_color = "#0F766E",
    signin_text = "Questions? Ask people@example.com\n<script>alert(1)</script>" }), 200).json
  t.eq(res.company_name, "Żak & Söhne 日本")
  t.eq(res.brand_color, "#0f766e", "kept in lower case")
  t.same(res.changed, { "company_name", "brand_color", "signin_text" })
  local css = t.status(t.client():get("/design/brand.css"), 200)
  t.contains(css.headers["content-type"], "text/css")
  t.contains(css.body, "--brand: #0f766e;")
  t.contains(css.body, "--focus: 0 0 0 3px rgb(15 118 110 / 35%);")
  t.contains(t.status(tom:get("/home"), 200).body, 'href="/design/brand.css?v=0f766e"')
  local signin = t.status(t.client():get("/"), 200).body
  t.contains(signin, 'href="/design/brand.css?v=0f766e"', "signed-out pages too")
  t.contains(signin, "<p>Questions? Ask people@example.com</p>", "a line per paragraph")
  t.contains(signin, "&lt;script&gt;alert(1)&lt;/script&gt;", "plain text, escaped")
  t.not_contains(signin, "<script>alert(1)")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'settings.design'"), 1)
end)

t.test("saving the same values changes nothing and writes no audit entry", function()
  local res = t.status(tom:put("/api/design", { company_name = "Żak & Söhne 日本", brand_color = "#0f766e" }), 200).json
  t.same(res.changed, {})
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'settings.design'"), 1)
end)

t.test("a save that changes one field names only that one", function()
  local res = t.status(tom:put("/api/design", { company_name = "Żak & Söhne 日本", brand_color = "#0f766e",
    signin_text = "Questions? Ask people@example.com" }), 200).json
  t.same(res.changed, { "signin_text" })
  t.status(tom:put("/api/design", { signin_text = "Questions? Ask people@example.com\n<script>alert(1)</script>" }), 200)
end)

t.test("a colour too light for white text, a colour that is no #rrggbb and an empty name are refused; nothing changes", function()
  local before = state()
  local res = t.status(tom:put("/api/design", { brand_color = "#ffd400", company_name = "New name" }), 422)
  t.contains(res.json.error.fields.brand_color, "contrast of 1.")
  t.contains(res.json.error.fields.brand_color, "4.5:1")
  t.contains(t.status(tom:put("/api/design", { brand_color = "teal" }), 422).json.error.fields.brand_color, "#rrggbb")
  t.ok(t.status(tom:put("/api/design", { company_name = "  " }), 422).json.error.fields.company_name)
  t.status(tom:put("/api/design", { signin_text = string.rep("é", design.SIGNIN_TEXT_MAX + 1) }), 422)
  t.status(tom:request("PUT", "/api/design", { body = '"not an object"', headers = { ["content-type"] = "application/json" } }),
    400)
  t.same(state(), before)
end)

t.test("an empty colour goes back to Candor's, and the pages drop the brand stylesheet", function()
  t.eq(t.status(tom:put("/api/design", { brand_color = "" }), 200).json.brand_color, design.DEFAULT_COLOR)
  t.not_contains(t.status(tom:get("/home"), 200).body, "/design/brand.css")
  t.status(tom:put("/api/design", { brand_color = "#0f766e" }), 200)
end)

t.test("a PNG logo is stored and served with its type, nosniff and a sandboxing policy; pages show it with the name", function()
  local res = t.status(put_logo(tom, png(2, 3)), 200).json
  t.contains(res.logo.url, "/design/logo?v=")
  local img = t.status(t.client():get(res.logo.url), 200)
  t.eq(img.headers["content-type"], "image/png")
  t.eq(img.headers["x-content-type-options"], "nosniff")
  t.contains(img.headers["content-security-policy"], "sandbox")
  t.eq(img.body, png(2, 3))
  local home = t.status(tom:get("/home"), 200).body
  t.contains(home, 'class="company-logo" src="' .. res.logo.url .. '"')
  t.contains(home, "<span>Żak &amp; Söhne 日本</span>")
  t.contains(t.status(t.client():get("/"), 200).body, res.logo.url, "the sign-in page too")
  t.eq(db.value("SELECT count(*) FROM audit_log WHERE action = 'settings.design_logo'"), 1)
end)

t.test("a file that is not a safe image, or too big, is refused with the reason and the logo stays", function()
  local before = state()
  t.contains(t.status(put_logo(tom, "<html><script>alert(1)</script></html>"), 422).body, "image")
  t.status(put_logo(tom, png(2, 3) .. "<script>alert(1)</script>"), 422)
  t.status(put_logo(tom, '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 422)
  t.contains(t.status(put_logo(tom, png(2, 3) .. string.rep("\0", design.LOGO_MAX_BYTES)), 422).body, "at most 256 KB")
  t.status(put_logo(tom, ""), 422)
  t.same(state(), before)
end)

t.test("a new logo gets a new address; removing it brings Candor's back and its address answers 404", function()
  local old = db.value("SELECT rev FROM design_logo")
  local res = t.status(put_logo(tom, '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'), 200).json
  t.eq(res.logo.type, "image/svg+xml")
  t.ok(db.value("SELECT rev FROM design_logo") > old, "a new address")
  t.status(tom:delete("/api/design/logo"), 204)
  t.status(t.client():get("/design/logo"), 404)
  t.status(tom:delete("/api/design/logo"), 404)
  t.contains(t.status(tom:get("/home"), 200).body, "<span>Candor</span>")
end)

t.test("HR Admins, HR Assistants, employees and guests change nothing, through the page or the API", function()
  local before = state()
  local clients = { hr = as("marcus"), assistant = as("lena"), employee = as("mia"),
    guest = t.login(demo.GUESTS[1][1]) }
  for who, c in pairs(clients) do
    t.status(c:get("/api/design"), 403, who)
    t.status(c:put("/api/design", { brand_color = "#000000" }), 403, who)
    t.status(put_logo(c, png(2, 3)), 403, who)
    t.status(c:delete("/api/design/logo"), 403, who)
    t.status(c:get("/admin/design"), 403, who)
    t.status(c:form("/admin/design", { company_name = "Taken", brand_color = "#000000" }), 403, who)
  end
  local anon = t.client()
  t.status(anon:get("/api/design"), 401)
  t.status(anon:put("/api/design", { brand_color = "#000000" }), 401)
  t.same(state(), before)
  t.status(as("priya"):get("/admin/design"), 200, "an HR Admin who is also Tech Admin may")
end)

t.test("the page keeps what was typed when the colour is refused, then saves and says what changed", function()
  local back = tom:form("/admin/design", { company_name = "Northwind Labs", brand_color = "#fde047", signin_text = "Hallo" })
  t.eq(back.status, 303, "post/redirect/get")
  local pg = t.status(tom:follow(back), 200).body
  t.contains(pg, "too light to read")
  t.contains(pg, 'value="#fde047"')
  t.contains(pg, ">Hallo</textarea>")
  t.eq(db.value("SELECT value FROM settings WHERE key = 'company.name'"), '"Żak & Söhne 日本"', "nothing saved")
  local done = tom:form("/admin/design", { company_name = "Northwind Labs", brand_color = "#1d4ed8", signin_text = "" })
  t.eq(done.status, 303)
  t.contains(t.status(tom:follow(done), 200).body, "Saved the company&#39;s name, the brand colour and the sign-in text.")
end)

t.test("the page uploads and removes the logo with its CSRF token; a refused file comes back with the reason", function()
  local boundary = "----candorTest"
  local function upload(token, file)
    local body = "--" .. boundary .. '\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n' .. token .. "\r\n"
      .. "--" .. boundary .. '\r\nContent-Disposition: form-data; name="logo"; filename="logo.png"\r\n'
      .. "Content-Type: image/png\r\n\r\n" .. file .. "\r\n--" .. boundary .. "--\r\n"
    return tom:request("POST", "/admin/design/logo", { body = body,
      headers = { ["content-type"] = "multipart/form-data; boundary=" .. boundary, ["x-csrf-token"] = false } })
  end
  t.status(upload("wrong", png(4, 4)), 403, "a wrong token")
  local bad = upload(tom.csrf, "not an image")
  t.eq(bad.status, 303)
  t.contains(t.status(tom:follow(bad), 200).body, 'class="field-error" id="logo-error"')
  t.eq(db.value("SELECT count(*) FROM design_logo"), 0)
  t.contains(t.status(tom:follow(upload(tom.csrf, png(4, 4))), 200).body, "The logo is saved")
  local pg = t.status(tom:get("/admin/design"), 200).body
  t.contains(pg, 'data-confirm="Remove the company\'s logo?')
  t.contains(t.status(tom:follow(tom:form("/admin/design/logo/delete", {})), 200).body, "The logo is removed")
  t.eq(db.value("SELECT count(*) FROM design_logo"), 0)
end)
