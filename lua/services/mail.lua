-- Outgoing mail: templates with {{placeholders}}, queued in the outbox table inside the
-- caller's transaction, delivered later by its own "mail.send" job (services/delivery.lua, SMTP
-- settings), or kept in the outbox when no SMTP server is configured.
--
--   mail.define_template("review.reminder", { description =, subject =, text =,
--     vars = { cycle = "the cycle's name", ... }, example = { cycle = "Spring review 2026" } })
--   local p = mail.preview{ template = "review.reminder", to = user, vars = {...} }  -- what queue stores
--   local id = mail.queue{ template = "review.reminder", to = user, vars = {...}, related_type = "cycle",
--     related_id = 3, dedupe_key = "cycle:3:remind:42" }
--
-- Every template also knows the standard variables: name, first_name, email (the recipient's)
-- and company (the company's name). HR and Tech Admins may edit a template's subject and text
-- (email_templates table); the edited version replaces the default until it is reset.
local db = require "lib.db"
local json = require "lib.json"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local clock = require "core.clock"
local template = require "lib.template"
local settings = require "services.settings"
local audit = require "services.audit"

local M = {}

-- name -> { subject=, text=, description=, vars = { name = "what it is" }, example = { name = value } }
M.templates = {}

-- Variables every template gets from queue/preview without the caller passing them.
M.STANDARD_VARS = {
  name = "the recipient's full name",
  first_name = "the recipient's first name",
  email = "the recipient's email address",
  company = "the company's name",
}

M.SUBJECT_MAX = 200        -- characters
M.TEXT_MAX = 20000         -- characters

--- Declares a notification template with its default text.
function M.define_template(name, spec)
  assert(spec.subject and spec.text and spec.description, "mail template " .. name .. " needs subject, text, description")
  M.templates[name] = spec
end

-- {{name}} is replaced by the variable; {{#name}}...{{/name}} keeps the part only when the
-- variable is set. Unknown names are left visible so a preview shows the mistake.

-- ---------------------------------------------------------------- edited templates
-- All edited templates, loaded with one query and kept until a change (or the rollback of one).
local custom_cache

local function drop_cache()
  custom_cache = nil
  db.on_rollback(function() custom_cache = nil end)
end

local function custom_all()
  if not custom_cache then
    local c = {}
    for _, r in ipairs(db.query("SELECT name, subject, body_text, updated_at, updated_by FROM email_templates")) do
      c[r.name] = { subject = r.subject, text = r.body_text, updated_at = r.updated_at, updated_by = r.updated_by }
    end
    custom_cache = c
  end
  return custom_cache
end

--- A company's edited version of a template ({ subject=, text=, updated_at=, updated_by= }) or nil.
function M.custom_template(name)
  return custom_all()[name]
end

--- The template's current text (a company's edited version when there is one).
function M.template_text(name)
  local spec = M.templates[name]
  if not spec then error("unknown mail template " .. tostring(name)) end
  local custom = M.custom_template and M.custom_template(name)
  return custom and custom.subject or spec.subject, custom and custom.text or spec.text
end

-- Templates are compiled once into segments (literal text, variables, conditional parts), so
-- rendering 10,000 mails is a walk over a short list per mail, not a series of pattern
-- replacements. The HTML form has its literal text escaped and its line breaks and links turned
-- into markup at compile time; values get the same treatment when they are filled in.
local LINK = "(https?://[%w%-%._~:/%?#%[%]@!%$&'%(%)%*%+,;=%%]+)"

local function to_html(s)
  s = template.escape(s)
  if s:find("\n", 1, true) then s = s:gsub("\r?\n\r?\n", "</p><p>"):gsub("\r?\n", "<br>") end
  if s:find("http", 1, true) then s = s:gsub(LINK, '<a href="%1">%1</a>') end
  return s
end

local function parse(s, html)
  local segs, pos, n = {}, 1, #s
  local function lit(x) if x ~= "" then segs[#segs + 1] = html and to_html(x) or x end end
  while pos <= n do
    local ca, cb, ck = s:find("{{#([%w_]+)}}", pos)
    local va, vb, vk = s:find("{{([%w_]+)}}", pos)
    local ea, eb = nil, nil
    if ca then ea, eb = s:find("{{/" .. ck .. "}}", cb + 1, true) end
    if ca and ea and (not va or ca < va) then
      lit(s:sub(pos, ca - 1))
      segs[#segs + 1] = { cond = ck, body = parse(s:sub(cb + 1, ea - 1), html) }
      pos = eb + 1
    elseif va then
      lit(s:sub(pos, va - 1))
      segs[#segs + 1] = { var = vk }
      pos = vb + 1
    else
      lit(s:sub(pos))
      break
    end
  end
  return segs
end

-- by form, then by the text itself (no key built per mail: a long string keeps its hash)
local compiled, ncompiled = { [true] = {}, [false] = {} }, 0

local function compile(text, html)
  html = html and true or false
  local c = compiled[html][text]
  if not c then
    if ncompiled > 500 then compiled, ncompiled = { [true] = {}, [false] = {} }, 0 end -- edited texts come and go
    c = parse(text, html)
    compiled[html][text], ncompiled = c, ncompiled + 1
  end
  return c
end

local function run(segs, vars, html, out)
  for _, sg in ipairs(segs) do
    if type(sg) == "string" then
      out[#out + 1] = sg
    elseif sg.var then
      local v = vars[sg.var]
      if v == nil then out[#out + 1] = "{{" .. sg.var .. "}}"
      else
        v = tostring(v)
        out[#out + 1] = html and to_html(v) or v
      end
    else
      local v = vars[sg.cond]
      if not (v == nil or v == "" or v == false) then run(sg.body, vars, html, out) end
    end
  end
  return out
end

local function fill_compiled(text, vars, html)
  return table.concat(run(compile(text, html), vars, html, {}))
end

-- subject, text, html from template texts and variables.
local function render_texts(subject_t, text_t, vars)
  local subject = fill_compiled(subject_t, vars, false):gsub("[\r\n]+", " ")
  local text = fill_compiled(text_t, vars, false)
  local html = '<!doctype html><html><body style="font-family:system-ui,Arial,sans-serif;'
    .. 'line-height:1.5;color:#111827"><p>' .. fill_compiled(text_t, vars, true) .. '</p></body></html>'
  return subject, text, html
end

--- Renders a template: subject, text, html.
function M.render(name, vars)
  local subject_t, text_t = M.template_text(name)
  return render_texts(subject_t, text_t, vars)
end

-- ---------------------------------------------------------------- checking template text
--- The variables a template offers: { { name=, description=, standard=bool }, ... } sorted.
function M.variables(name)
  local spec = M.templates[name]
  if not spec then error("unknown mail template " .. tostring(name)) end
  local list, seen = {}, {}
  for k, d in pairs(spec.vars or {}) do
    list[#list + 1] = { name = k, description = d, standard = false }
    seen[k] = true
  end
  for k, d in pairs(M.STANDARD_VARS) do
    if not seen[k] then list[#list + 1] = { name = k, description = d, standard = true } end
  end
  table.sort(list, function(a, b)
    if a.standard ~= b.standard then return not a.standard end
    return a.name < b.name
  end)
  return list
end

local function known_set(name)
  local known = {}
  for _, v in ipairs(M.variables(name)) do known[v.name] = true end
  return known
end

--- Checks a subject or text written for template name: a list of problems (empty when fine),
--- and the list of unknown variable names. Looks at every {{...}}: a known variable, a
--- {{#var}}...{{/var}} section that is closed, nothing else.
function M.check_text(name, text)
  local known = known_set(name)
  local problems, unknown, seen = {}, {}, {}
  local open = {}
  local function add_unknown(v)
    if not seen[v] then
      seen[v] = true
      unknown[#unknown + 1] = v
      problems[#problems + 1] = ("{{%s}} is not a variable of this mail."):format(v)
    end
  end
  for inner in text:gmatch("{{(.-)}}") do
    local sec, var = inner:match("^([#/]?)([%w_]+)$")
    if not var then
      problems[#problems + 1] = ("{{%s}} is not a placeholder: write {{name}} without spaces."):format(inner)
    else
      if not known[var] then add_unknown(var) end
      if sec == "#" then
        if open[#open] == var or open[var] then
          problems[#problems + 1] = ("{{#%s}} is opened twice."):format(var)
        end
        open[#open + 1] = var
        open[var] = true
      elseif sec == "/" then
        if open[#open] ~= var then
          problems[#problems + 1] = ("{{/%s}} closes a part that was not opened just before."):format(var)
        else
          open[#open] = nil
          open[var] = nil
        end
      end
    end
  end
  for i = #open, 1, -1 do
    problems[#problems + 1] = ("{{#%s}} is never closed with {{/%s}}."):format(open[i], open[i])
  end
  if text:find("{{", 1, true) and select(2, text:gsub("{{", "")) ~= select(2, text:gsub("}}", "")) then
    problems[#problems + 1] = "A {{ or }} has no partner."
  end
  return problems, unknown
end

-- Checks subject and text together: fields = { subject = msg, text = msg } or nil; unknown vars.
local function check_template(name, subject, text)
  local fields, unknown, useen = {}, {}, {}
  local function merge(list)
    for _, v in ipairs(list) do
      if not useen[v] then useen[v] = true; unknown[#unknown + 1] = v end
    end
  end
  if type(subject) ~= "string" or subject:match("^%s*$") then
    fields.subject = "Write a subject."
  elseif subject:find("[\r\n]") then
    fields.subject = "The subject must be on one line."
  elseif not utf8.len(subject) then
    fields.subject = "The subject is not valid UTF-8 text."
  elseif utf8.len(subject) > M.SUBJECT_MAX then
    fields.subject = ("The subject must be at most %d characters."):format(M.SUBJECT_MAX)
  else
    local p, u = M.check_text(name, subject)
    merge(u)
    if #p > 0 then fields.subject = table.concat(p, " ") end
  end
  if type(text) ~= "string" or text:match("^%s*$") then
    fields.text = "Write the mail's text."
  elseif not utf8.len(text) then
    fields.text = "The text is not valid UTF-8."
  elseif utf8.len(text) > M.TEXT_MAX then
    fields.text = ("The text must be at most %d characters."):format(M.TEXT_MAX)
  else
    local p, u = M.check_text(name, text)
    merge(u)
    if #p > 0 then fields.text = table.concat(p, " ") end
  end
  return next(fields) and fields or nil, unknown
end

-- ---------------------------------------------------------------- composing
local function company_name()
  if settings.schema["company.name"] then return settings.get("company.name") end
end

-- The variables a mail to `to` gets: the caller's, plus the standard ones.
local function mail_vars(to, given)
  local vars = {}
  for k, v in pairs(given or {}) do vars[k] = v end
  vars.name = vars.name or to.name
  vars.first_name = vars.first_name or (to.name and to.name:match("^(%S+)"))
  vars.email = vars.email or to.email
  if vars.company == nil then vars.company = company_name() end
  return vars
end

-- Placeholders left in a rendered text (variables nobody gave a value).
local function leftovers(...)
  local out, seen = {}, {}
  for i = 1, select("#", ...) do
    for v in select(i, ...):gmatch("{{#?/?([%w_]+)}}") do
      if not seen[v] then seen[v] = true; out[#out + 1] = v end
    end
  end
  return out
end

--- The mail queue would store for m = { template=, to = user or {email=, name=}, vars = {} }:
--- { template=, to = { email=, name=, id= }, subject=, text=, html=, missing_vars = {...} }.
--- missing_vars lists placeholders that stayed in the text because no value was given.
--- Use it to show HR "the exact email" before a bulk send.
function M.preview(m)
  local to = m.to
  if not to or not to.email then errors.bad_request("mail without a recipient") end
  if not M.templates[m.template] then error("unknown mail template " .. tostring(m.template)) end
  local subject, text, html = M.render(m.template, mail_vars(to, m.vars))
  return { template = m.template, to = { email = to.email, name = to.name, id = to.id },
    subject = subject, text = text, html = html, missing_vars = leftovers(subject, text) }
end

--- Sample values for previewing template name as `viewer` would get it: the template's
--- example values, else "[description]".
function M.sample_vars(name, viewer)
  local spec = M.templates[name]
  local vars = {}
  for k, d in pairs(spec.vars or {}) do
    if not M.STANDARD_VARS[k] or (spec.example and spec.example[k]) then
      vars[k] = (spec.example and spec.example[k]) or ("[" .. d .. "]")
    end
  end
  return mail_vars(viewer or { name = "Alex Example", email = "alex@example.com" }, vars)
end

--- Renders a subject and text being edited for template name with sample values:
--- { subject=, text=, html=, unknown = { names }, problems = { field = msg } | nil }.
--- Unknown placeholders stay visible in the result.
function M.preview_edit(name, subject, text, viewer, vars)
  if not M.templates[name] then errors.not_found("There is no mail template " .. tostring(name) .. ".") end
  local cur_s, cur_t = M.template_text(name)
  subject = subject or cur_s
  text = text or cur_t
  local problems, unknown = check_template(name, subject, text)
  local sample = M.sample_vars(name, viewer)
  for k, v in pairs(vars or {}) do sample[k] = v end
  local s, t, h = render_texts(tostring(subject), tostring(text), sample)
  return { subject = s, text = t, html = h, unknown = unknown, problems = problems }
end

-- ---------------------------------------------------------------- editing
--- One template as the admin pages and API show it.
function M.describe(name)
  local spec = M.templates[name]
  if not spec then errors.not_found("There is no mail template " .. tostring(name) .. ".") end
  local custom = M.custom_template(name)
  return {
    name = name, description = spec.description,
    subject = custom and custom.subject or spec.subject,
    text = custom and custom.text or spec.text,
    edited = custom ~= nil,
    updated_at = custom and custom.updated_at or nil,
    updated_by = custom and custom.updated_by or nil,
    default_subject = spec.subject, default_text = spec.text,
    variables = M.variables(name),
  }
end

--- Every defined template, sorted by name.
function M.list()
  local names = {}
  for name in pairs(M.templates) do names[#names + 1] = name end
  table.sort(names)
  local out = {}
  for i, name in ipairs(names) do out[i] = M.describe(name) end
  return out
end

--- Saves an edited subject and text (422 naming unknown variables and other problems).
--- Saving the default text again removes the edit.
function M.save_template(actor, name, subject, text, req)
  local spec = M.templates[name]
  if not spec then errors.not_found("There is no mail template " .. tostring(name) .. ".") end
  if type(text) == "string" then text = text:gsub("\r\n", "\n") end
  local fields = check_template(name, subject, text)
  if fields then errors.invalid(fields, "The template was not saved; each field says what to fix.") end
  if subject == spec.subject and text == spec.text then
    db.exec("DELETE FROM email_templates WHERE name = ?", name)
  else
    db.exec([[INSERT INTO email_templates(name, subject, body_text, updated_at, updated_by) VALUES(?,?,?,?,?)
      ON CONFLICT(name) DO UPDATE SET subject = excluded.subject, body_text = excluded.body_text,
      updated_at = excluded.updated_at, updated_by = excluded.updated_by]],
      name, subject, text, clock.now(), actor and actor.id)
  end
  drop_cache()
  events.fire("mail.template_changed", { name = name, reset = false, actor_id = actor and actor.id })
  audit.record{ action = "email_template.update", actor = actor, req = req, target_type = "email_template",
    target_label = name }
  return M.describe(name)
end

--- Goes back to the default text.
function M.reset_template(actor, name, req)
  if not M.templates[name] then errors.not_found("There is no mail template " .. tostring(name) .. ".") end
  local n = db.exec("DELETE FROM email_templates WHERE name = ?", name)
  drop_cache()
  if n > 0 then
    events.fire("mail.template_changed", { name = name, reset = true, actor_id = actor and actor.id })
    audit.record{ action = "email_template.reset", actor = actor, req = req,
      target_type = "email_template", target_label = name }
  end
  return M.describe(name)
end

-- ---------------------------------------------------------------- queueing

-- URL parameters that are credentials (sign-in, invitation and reset links).
local SECRET_PARAMS = { token = true, code = true, key = true, secret = true, password = true,
  signature = true, sig = true }

--- Hides the values of credential-like URL parameters (token=, code=, ...) in text or HTML.
function M.mask(s)
  if type(s) ~= "string" then return s end
  return (s:gsub("([?&;]([%a_]+)=)([^%s&#\"'<>]+)", function(prefix, name)
    if SECRET_PARAMS[name:lower()] then return prefix .. "[hidden]" end
  end))
end

-- A mail with a credential link waits in the outbox with the link's secret hidden (subject,
-- body_text, body_html); the full mail is sealed in body_enc, bound to the row, and dropped once
-- sent (services/delivery.lua). So the links are in plain text nowhere: not in the table, the
-- WAL or a backup.
crypt.register{ table = "outbox", column = "body_enc", key = { "id" } }

--- What the outbox shows in place of a confidential variable (queue's confidential): the mail
--- as sent has it, sealed until it is sent.
M.CONFIDENTIAL = "[confidential: only in the mail as sent]"

--- Queues a mail: { template=, to = user row or {email=, name=, id=}, vars = {}, cc=,
--- related_type=, related_id=, dedupe_key=, confidential = { names of vars } }. The vars named
--- in confidential (text a person typed that is kept encrypted, e.g. a reason) are sealed with
--- the mail like a credential link, and the outbox shows CONFIDENTIAL in their place. Returns
--- the outbox id (nil when the dedupe key was queued already).
function M.queue(m)
  local to = m.to
  if not to or not to.email then errors.bad_request("mail without a recipient") end
  local vars = mail_vars(to, m.vars)
  local subject, text, html = M.render(m.template, vars)
  local shown_subject, shown_text, shown_html = subject, text, html
  if m.confidential and #m.confidential > 0 then
    local shown = {}
    for k, v in pairs(vars) do shown[k] = v end
    for _, k in ipairs(m.confidential) do
      if shown[k] ~= nil then shown[k] = M.CONFIDENTIAL end
    end
    shown_subject, shown_text, shown_html = M.render(m.template, shown)
  end
  shown_subject, shown_text, shown_html = M.mask(shown_subject), M.mask(shown_text), M.mask(shown_html)
  local n, id = db.try_exec([[INSERT INTO outbox(created_at, template, to_email, to_name, to_user_id, cc,
      subject, body_text, body_html, status, related_type, related_id, dedupe_key)
      VALUES(?,?,?,?,?,?,?,?,?, 'queued', ?,?,?)]],
    clock.now(), m.template, to.email, to.name, to.id, m.cc, shown_subject, shown_text, shown_html,
    m.related_type, m.related_id, m.dedupe_key)
  if not n then
    if id.code == "constraint" and m.dedupe_key then return nil end
    error("cannot queue mail: " .. id.message)
  end
  if shown_subject ~= subject or shown_text ~= text or shown_html ~= html then
    db.exec("UPDATE outbox SET body_enc = ? WHERE id = ?", crypt.seal("outbox", "body_enc", { id },
      json.encode({ subject = subject, text = text, html = html })), id)
  end
  events.fire("mail.queued", { outbox_id = id, template = m.template, to_user_id = to.id })
  return id
end

function M.init()
  custom_cache = nil
  M.define_template("user.invite", {
    description = "Sent when someone is added to Candor with an invitation.",
    subject = "{{inviter}} invited you to {{company}} on Candor",
    text = "Hello {{first_name}},\n\n{{inviter}} added you to {{company}}'s performance and feedback space on Candor."
      .. "{{#message}}\n\nA note from {{inviter}}:\n{{message}}{{/message}}\n\n"
      .. "Choose your password here (the link works for 7 days):\n{{link}}\n\nSee you there!",
    vars = { inviter = "who invited them", company = "company name", message = "personal note (optional)",
      link = "link to choose a password" },
    example = { inviter = "Hannah Schmidt", message = "Welcome aboard!",
      link = "https://candor.example.com/password/set?token=example" },
  })
  M.define_template("guest.invite", {
    description = "Sent to an external guest reviewer when their account is created with an invitation.",
    subject = "{{inviter}} at {{company}} asks for your feedback",
    text = "Hello {{first_name}},\n\n{{inviter}} at {{company}} invited you to give feedback on Candor."
      .. "{{#message}}\n\nA note from {{inviter}}:\n{{message}}{{/message}}\n\n"
      .. "Choose your password here (the link works for 7 days):\n{{link}}\n\n"
      .. "As a guest you only see the feedback you are asked to write.",
    vars = { inviter = "who invited them", company = "company name", message = "personal note (optional)",
      link = "link to choose a password" },
    example = { inviter = "Hannah Schmidt", message = "Thanks for helping us with Diego's 360 review.",
      link = "https://candor.example.com/password/set?token=example" },
  })
  M.define_template("password.reset", {
    description = "Sent when someone asks to reset their password, or HR sends reset instructions.",
    subject = "Reset your Candor password",
    text = "Hello {{first_name}},\n\nSomeone (hopefully you) asked to reset your Candor password."
      .. " Choose a new one here within the next hour:\n{{link}}\n\n"
      .. "If it was not you, ignore this mail: your password stays as it is.",
    vars = { link = "single-use reset link, valid for 1 hour" },
    example = { link = "https://candor.example.com/password/set?token=example" },
  })
  M.define_template("mail.test", {
    description = "The test mail a Tech Admin sends from the mail server settings.",
    subject = "Test mail from Candor",
    text = "Hello {{first_name}},\n\nThis is a test mail from {{company}}'s Candor, sent by {{sender}} "
      .. "to check the mail server settings ({{server}}).\n\nIf you can read this, mail works.",
    vars = { sender = "who pressed the button", server = "the mail server's address" },
    example = { sender = "Tom Okafor", server = "smtp.example.com:587" },
  })
end

return M
