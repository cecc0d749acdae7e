-- Email templates: HR Admins (only) change the wording of a notification, preview it with
-- the variables it offers, and go back to the default; others cannot. mail.preview gives the
-- exact mail queue would store.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"
local mail = require "services.mail"

local P = t.demo()
local hr = t.login(demo.email("marcus"))        -- HR Admin
local tech = t.login(demo.email("tom"))         -- Tech Admin: the mail server is theirs, not the wording
local assistant = t.login(demo.email("lena"))   -- HR Assistant
local employee = t.login(demo.email("zoe"))

local function queue(template, to, vars)
  return db.transaction(function() return mail.queue{ template = template, to = to, vars = vars } end)
end

t.test("the list shows every defined template with its description, default or edited", function()
  local res = t.status(hr:get("/admin/email-templates"), 200)
  for name, spec in pairs(mail.templates) do
    t.contains(res.body, 'href="/admin/email-templates/' .. name .. '"')
    t.contains(res.body, (spec.description:gsub("'", "&#39;")), name)
  end
  t.contains(res.body, "Default")
  local api = t.status(hr:get("/api/email-templates"), 200).json
  local count = 0
  for _ in pairs(mail.templates) do count = count + 1 end
  t.eq(#api.templates, count)
  t.eq(api.templates[1].edited, false)
end)

t.test("HR Assistants, Tech Admins and employees cannot see or change templates", function()
  t.status(assistant:get("/admin/email-templates"), 403)
  t.status(tech:get("/admin/email-templates"), 403)
  t.status(tech:put("/api/email-templates/password.reset", { subject = "x", text = "y" }), 403)
  t.status(employee:get("/api/email-templates"), 403)
  t.status(assistant:put("/api/email-templates/password.reset", { subject = "x", text = "y" }), 403)
  t.status(employee:form("/admin/email-templates/password.reset", { action = "save", subject = "x", text = "y" }), 403)
  t.eq(db.value("SELECT count(*) FROM email_templates"), 0)
end)

t.test("the edit page lists the variables the template offers, the standard ones too", function()
  local body = t.status(hr:get("/admin/email-templates/user.invite"), 200).body
  t.contains(body, "<code>{{inviter}}</code>")
  t.contains(body, "who invited them")
  t.contains(body, "<code>{{first_name}}</code>")
  t.contains(body, "<code>{{company}}</code>")
  t.contains(body, 'name="subject"')
  t.status(hr:get("/admin/email-templates/no.such.template"), 404)
end)

t.test("Preview shows the page again with the mail under the form, keeping what was typed, saving nothing", function()
  local typed = "Hi {{first_name}}!\n\n{{inviter}} wants you on board at {{company}}.\n\nStart here: {{link}}"
  local posted = t.status(hr:form("/admin/email-templates/user.invite",
    { action = "preview", subject = "Welcome to {{company}}, {{first_name}}", text = typed }), 303)
  t.eq(posted.headers.location, "/admin/email-templates/user.invite#preview", "the preview is a page of its own")
  local res = t.status(hr:follow(posted), 200)
  t.contains(res.body, 'value="Welcome to {{company}}, {{first_name}}"', "the subject as typed")
  t.contains(res.body, "wants you on board at {{company}}.", "the text as typed, in the textarea")
  t.contains(res.body, 'id="preview"')
  t.contains(res.body, "Welcome to Northwind Labs, Marcus", "subject filled for the viewer")
  t.contains(res.body, "Hi Marcus!")
  t.contains(res.body, "Hannah Schmidt wants you on board at Northwind Labs.", "the template's example values")
  t.contains(res.body, '<a href="https://candor.example.com/password/set?token=example" rel="noopener noreferrer nofollow">',
    "the HTML version, links kept")
  t.eq(db.value("SELECT count(*) FROM email_templates"), 0, "nothing saved")
end)

t.test("unknown variables are flagged in the preview and refused on save", function()
  local res = t.status(hr:follow(hr:form("/admin/email-templates/password.reset",
    { action = "preview", subject = "Reset it, {{frist_name}}", text = "Go to {{link}} before {{deadline}}." })), 200)
  t.contains(res.body, "2 unknown variables")
  t.contains(res.body, "<mark>{{frist_name}}</mark>")
  t.contains(res.body, "<mark>{{deadline}}</mark>")
  local refused = t.status(hr:form("/admin/email-templates/password.reset",
    { action = "save", subject = "Reset it, {{frist_name}}", text = "Go to {{link}} before {{deadline}}." }), 303)
  t.eq(refused.headers.location, "/admin/email-templates/password.reset")
  local saved = t.status(hr:follow(refused), 200)
  t.contains(saved.body, "{{frist_name}} is not a variable of this mail.")
  t.contains(saved.body, 'value="Reset it, {{frist_name}}"', "the form keeps what was typed")
  local api = t.status(hr:put("/api/email-templates/password.reset",
    { subject = "Reset", text = "{{#link}}Open {{link}} {{/lnk}}" }), 422)
  t.eq(api.json.error.code, "invalid")
  t.contains(api.json.error.fields.text, "{{lnk}} is not a variable")
  t.eq(db.value("SELECT count(*) FROM email_templates"), 0)
end)

t.test("an unclosed {{#part}} and a placeholder with spaces are mistakes too", function()
  local p = t.status(hr:post("/api/email-templates/user.invite/preview",
    { subject = "Hi", text = "{{#message}}Note: {{message}}\n\n{{ link }}" }), 200).json
  t.eq(#p.unknown_vars, 0)
  t.contains(p.problems.text, "{{#message}} is never closed")
  t.contains(p.problems.text, "{{ link }} is not a placeholder")
end)

t.test("the preview runs the check saving runs: an unclosed part is shown next to an unknown variable", function()
  local typed = { subject = "Hi {{frist_name}}", text = "{{#message}}Note: {{message}}\n\nGo to {{link}}" }
  local function count(body, s) return select(2, body:gsub(s:gsub("%p", "%%%0"), "")) end
  local preview = t.status(hr:follow(hr:form("/admin/email-templates/user.invite",
    { action = "preview", subject = typed.subject, text = typed.text })), 200).body
  t.contains(preview, "{{frist_name}} is not a variable of this mail.")
  t.contains(preview, "{{#message}} is never closed with {{/message}}.", "the unclosed part, although a variable is unknown")
  t.contains(preview, "Saving would refuse this text")
  -- saving refuses exactly that, and says each problem once
  local saved = t.status(hr:follow(hr:form("/admin/email-templates/user.invite",
    { action = "save", subject = typed.subject, text = typed.text })), 200).body
  t.contains(saved, "The template was not saved; each field says what to fix.")
  t.eq(count(saved, "{{#message}} is never closed"), 1, "the unclosed part, once")
  t.eq(count(saved, "{{frist_name}} is not a variable"), 1, "the unknown variable, once")
  t.eq(count(preview, "{{#message}} is never closed"), 1, "the preview says it once too")
  t.contains(saved, 'value="Hi {{frist_name}}"', "what was typed stays")
  t.eq(db.value("SELECT count(*) FROM email_templates WHERE name = 'user.invite'"), 0, "nothing saved")
end)

t.test("a saved edit is used by every mail queued from then on; mail already queued keeps its text", function()
  local before = queue("password.reset", P.zoe, { link = "https://candor.test/r/1" })
  local res = t.status(hr:form("/admin/email-templates/password.reset", { action = "save",
    subject = "{{company}}: choose a new password",
    text = "Hello {{first_name}},\r\n\r\nUse this link within the hour:\r\n{{link}}" }), 303)
  t.eq(res.headers.location, "/admin/email-templates/password.reset")
  local after = queue("password.reset", P.zoe, { link = "https://candor.test/r/2" })
  local old = db.row("SELECT * FROM outbox WHERE id = ?", before)
  local new = db.row("SELECT * FROM outbox WHERE id = ?", after)
  t.eq(old.subject, "Reset your Candor password")
  t.eq(new.subject, "Northwind Labs: choose a new password")
  t.eq(new.body_text, "Hello Zoe,\n\nUse this link within the hour:\nhttps://candor.test/r/2")
  local list = t.status(hr:get("/api/email-templates"), 200).json.templates
  for _, tpl in ipairs(list) do
    if tpl.name == "password.reset" then
      t.eq(tpl.edited, true)
      t.eq(tpl.default_subject, "Reset your Candor password")
      t.eq(tpl.updated_by, P.marcus.id)
    end
  end
  t.ok(db.value("SELECT count(*) FROM audit_log WHERE action = 'email_template.update'") >= 1, "audited")
end)

t.test("the page says a template is edited and offers the reset; resetting brings the default back", function()
  local list = t.status(hr:get("/admin/email-templates"), 200).body
  t.contains(list, "Edited")
  local page = t.status(hr:get("/admin/email-templates/password.reset"), 200).body
  t.contains(page, "/admin/email-templates/password.reset/reset")
  t.contains(page, "Reset your Candor password", "the default text is shown for comparison")
  t.status(hr:form("/admin/email-templates/password.reset/reset", {}), 303)
  t.eq(db.value("SELECT count(*) FROM email_templates WHERE name = 'password.reset'"), 0)
  local id = queue("password.reset", P.zoe, { link = "https://candor.test/r/3" })
  t.eq(db.value("SELECT subject FROM outbox WHERE id = ?", id), "Reset your Candor password")
end)

t.test("the API edits, previews with given values and resets (DELETE)", function()
  local put = t.status(hr:put("/api/email-templates/guest.invite",
    { subject = "Feedback for {{company}}", text = "Dear {{name}},\n\n{{inviter}} asks for your view.\n{{link}}" }), 200).json
  t.eq(put.edited, true)
  t.eq(put.subject, "Feedback for {{company}}")
  local p = t.status(hr:post("/api/email-templates/guest.invite/preview",
    { vars = { inviter = "Priya", link = "https://x.example/l" } }), 200).json
  t.eq(p.subject, "Feedback for Northwind Labs")
  t.eq(p.text, "Dear Marcus Webb,\n\nPriya asks for your view.\nhttps://x.example/l")
  t.contains(p.html, '<a href="https://x.example/l">https://x.example/l</a>')
  local del = t.status(hr:delete("/api/email-templates/guest.invite"), 200).json
  t.eq(del.edited, false)
  t.eq(del.subject, mail.templates["guest.invite"].subject)
  t.status(hr:put("/api/email-templates/nope", { subject = "a", text = "b" }), 404)
end)

t.test("the template's own words are escaped in the HTML version; variables are escaped too", function()
  t.status(hr:put("/api/email-templates/password.reset",
    { subject = "Reset", text = "<script>alert(1)</script> & {{first_name}}: {{link}}" }), 200)
  local p = mail.preview{ template = "password.reset", to = { email = "x@example.com", name = "<b>Bo</b> Li" },
    vars = { link = "https://candor.test/r" } }
  t.not_contains(p.html, "<script>")
  t.contains(p.html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;Bo&lt;/b&gt;:")
  t.eq(p.text, "<script>alert(1)</script> & <b>Bo</b>: https://candor.test/r", "the text version is plain text")
  t.status(hr:delete("/api/email-templates/password.reset"), 200)
end)

t.test("mail.preview is exactly what queue stores (and sends), for the same recipient and values", function()
  local vars = { inviter = "Marcus Webb", link = "https://candor.test/p?token=abc", message = "Welcome!" }
  local p = mail.preview{ template = "user.invite", to = P.zoe, vars = vars }
  local id = queue("user.invite", P.zoe, vars)
  local row
  for _, m in ipairs(t.outbox()) do if m.id == id then row = m end end
  t.eq(p.subject, row.subject)
  t.eq(p.text, row.body_text)
  t.eq(p.html, row.body_html)
  t.eq(p.to.email, row.to_email)
  t.eq(#p.missing_vars, 0)
  local partial = mail.preview{ template = "user.invite", to = P.zoe, vars = { inviter = "Marcus" } }
  t.same(partial.missing_vars, { "link" }, "a forgotten value shows up before hundreds get it")
end)

t.test("the template pages cost the same number of queries however many templates are edited", function()
  local function cost() return t.count_queries(function() t.status(hr:get("/admin/email-templates"), 200) end) end
  cost() -- what every page reads once and keeps (the company's logo row) is read now
  local one = cost()
  for _, name in ipairs({ "user.invite", "guest.invite", "password.reset" }) do
    local spec = mail.templates[name]
    t.status(hr:put("/api/email-templates/" .. name, { subject = spec.subject .. "!", text = spec.text }), 200)
  end
  t.eq(cost(), one)
end)
