-- Redirects to an address the visitor chose (?next= after sign-in, on the 2-step pages) only
-- ever go to a local path built from an allow-list of characters (web.local_path); anything
-- else goes to the default. Browsers read "/\t/evil.example" as "//evil.example", another site.
local t = require "testing"
local demo = require "demo"
local web = require "lib.web"
local totp = require "core.totp"

t.demo()

-- Targets an attacker would send (as they arrive, decoded once from the query or form).
local DENIED = {
  "/\t/evil.example",            -- next=/%09/evil.example: the tab is dropped by browsers
  "/\n/evil.example", "/\r\n/evil.example", "/x\r\nSet-Cookie: a=b",
  "//evil.example",              -- next=%2F%2Fevil.example
  "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
  "https://evil.example/", "http:/evil.example", "//evil.example/%2F..",
  "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,hi",
  "evil.example", "", " /home", "/ /evil.example", "/\0/evil.example", "/%", "/%zz",
  "/people?q=\195\150mer",       -- raw UTF-8: a browser sends it percent-encoded
}
-- Local paths people are sent back to.
local ALLOWED = {
  "/people", "/reviews/12?tab=self", "/people?q=%C3%96mer&page=2", "/home#top",
  "/cycles/3/reviewees?view=list&q=a+b", "/a/b/c.d-e_f~g", "/%2F%2Fevil.example", "/",
  "/cycles/3/reminders?review_ids[]=4&review_ids[]=5", -- util.build_query's lists
}

local function email() return demo.email("mia") end

t.test("web.local_path keeps local paths and turns everything else into the default", function()
  for _, target in ipairs(ALLOWED) do t.eq(web.local_path(target, "/home"), target) end
  for _, target in ipairs(DENIED) do t.eq(web.local_path(target, "/home"), "/home", ("%q"):format(target)) end
  t.eq(web.local_path(nil, "/home"), "/home")
  t.eq(web.local_path({ "/people" }, "/home"), "/home")
  t.eq(web.local_path("/" .. ("a"):rep(3000), "/home"), "/home", "not longer than 2,000 characters")
end)

t.test("every redirect goes through the same check", function()
  t.eq(web.redirect("/\t/evil.example").headers.Location, "/")
  t.eq(web.redirect("/people?page=2").headers.Location, "/people?page=2")
end)

t.test("after signing in, next= sends the person to a local page and nowhere else", function()
  for _, target in ipairs(ALLOWED) do
    local res = t.status(t.client():form("/signin", { email = email(), password = t.DEMO_PASSWORD, next = target }), 303)
    t.eq(res.headers.location, target)
  end
  for _, target in ipairs(DENIED) do
    local res = t.client():form("/signin", { email = email(), password = t.DEMO_PASSWORD, next = target })
    if target:find("\0", 1, true) then
      t.status(res, 400, "a form with a NUL is refused as a whole")
    else
      t.status(res, 303, ("%q"):format(target))
      t.eq(res.headers.location, "/home", ("%q"):format(target))
    end
  end
end)

t.test("a signed-in person opening a sign-in page with next= goes only to a local page", function()
  local c = t.login(email())
  t.eq(t.status(c:get("/signin/code?next=%2Fpeople"), 303).headers.location, "/people")
  t.eq(t.status(c:get("/signin/code?next=%2F%09%2Fevil.example"), 303).headers.location, "/home")
  t.eq(t.status(c:get("/signin/setup?next=%2F%2Fevil.example"), 303).headers.location, "/home")
  t.eq(t.status(c:get("/signin/setup?next=%2F%5Cevil.example"), 303).headers.location, "/home")
end)

t.test("on the 2-step code page, next= sends the person to a local page and nowhere else", function()
  local owner = t.login(demo.email("felix"))
  local secret = t.status(owner:post("/api/account/2fa/setup"), 200).json.secret
  t.status(owner:post("/api/account/2fa/confirm", { code = totp.code(secret, t.now()) }), 200)
  local function code_step(target)
    t.advance(31) -- a code works once: the next one
    local c = t.client()
    local res = t.status(c:form("/signin", { email = demo.email("felix"), password = t.DEMO_PASSWORD,
      next = target }), 303)
    local page = t.status(c:get(res.headers.location), 200)
    c.csrf = page.body:match('name="csrf_token" value="([^"]+)"')
    return res, t.status(c:form("/signin/code", { code = totp.code(secret, t.now()), next = target }), 303)
  end
  local first, done = code_step("/people?page=2")
  t.eq(first.headers.location, "/signin/code?next=%2Fpeople%3Fpage%3D2")
  t.eq(done.headers.location, "/people?page=2")
  for _, target in ipairs({ "/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example" }) do
    first, done = code_step(target)
    t.eq(first.headers.location, "/signin/code?next=%2Fhome", ("%q"):format(target))
    t.eq(done.headers.location, "/home", ("%q"):format(target))
  end
end)
