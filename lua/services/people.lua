-- People: accounts, reporting lines, roles, statuses and guests. Every change checks the
-- actor's permission through services.access, runs in one transaction, is audited and
-- announced as an event (person.*, docs/events.md).
local db = require "lib.db"
local events = require "lib.events"
local util = require "lib.util"
local json = require "lib.json"
local errors = require "lib.errors"
local schema = require "lib.schema"
local clock = require "core.clock"
local authz = require "core.authz"
local access = require "services.access"
local audit = require "services.audit"
local settings = require "services.settings"
local mail = require "services.mail"
local accounts = require "services.accounts"

local M = {}

M.STATUSES = { "invited", "active", "locked", "deactivated" }
M.KINDS = { "employee", "guest" }
M.GUEST_POLICIES = { "off", "hr", "hr_managers", "everyone" }
M.GUEST_POLICY_LABELS = {
  off = "Off: nobody, not even HR, can invite guests",
  hr = "Only HR: HR Admins add guests in the directory or nominate them",
  hr_managers = "Only HR and managers: also people with at least one direct report",
  everyone = "On: everyone can pick guests as reviewers",
}

local PUBLIC_FIELDS = "id, email, name, job_title, department, location, hire_date, manager_id, status, kind, created_at, updated_at"

-- ------------------------------------------------------------------ reading

function M.get(id)
  if math.type(id) ~= "integer" then id = math.tointeger(tonumber(id)) end
  if not id then return nil end
  return db.row("SELECT " .. PUBLIC_FIELDS .. " FROM users WHERE id = ?", id)
end

--- The user row for id, or a 404.
function M.require(id)
  local u = M.get(id)
  if not u then errors.not_found("There is no such person.") end
  return u
end

function M.by_email(email)
  return db.row("SELECT " .. PUBLIC_FIELDS .. " FROM users WHERE email = ?", email)
end

--- Roles of one person, as a list in policy order (the evaluator holds them: no query).
function M.roles(id)
  return access.roles(id)
end

--- Roles of many people in one query: { [id] = { "hr_admin", ... } }.
function M.roles_of(ids)
  local out = {}
  if #ids == 0 then return out end
  for _, r in ipairs(db.query([[SELECT user_id, role FROM user_roles
      WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY role]], json.encode(ids))) do
    local list = out[r.user_id] or {}
    list[#list + 1] = r.role
    out[r.user_id] = list
  end
  return out
end

local function has(list, x)
  for _, v in ipairs(list or {}) do if v == x then return true end end
  return false
end

function M.is_super(roles) return has(roles, "hr_admin") and has(roles, "tech_admin") end

--- Active super users (HR Admin + Tech Admin).
function M.super_user_ids()
  return db.column([[SELECT u.id FROM users u
    JOIN user_roles a ON a.user_id = u.id AND a.role = 'hr_admin'
    JOIN user_roles t ON t.user_id = u.id AND t.role = 'tech_admin'
    WHERE u.status = 'active' ORDER BY u.id]])
end

local function is_last_super(id)
  local supers = M.super_user_ids()
  return #supers == 1 and supers[1] == id
end

--- Users that count towards the license: employees not deactivated (guests are free).
function M.licensed_count()
  return db.value("SELECT count(*) FROM users WHERE kind = 'employee' AND status <> 'deactivated'")
end

function M.company_domains()
  return settings.get("company.domains") or {}
end

--- Whether email is on one of the company's own domains (guests must use other addresses).
function M.in_company_domain(email)
  local d = util.email_domain(email)
  for _, cd in ipairs(M.company_domains()) do
    if d == cd:lower() or (d and d:sub(-(#cd + 1)) == "." .. cd:lower()) then return true end
  end
  return false
end
local in_company_domain = M.in_company_domain

-- ------------------------------------------------------------------ guests

--- Whether actor may create guest accounts under the company's guest policy.
--- via = "directory" (the Add Users window: administrators only) or "nomination".
function M.may_invite_guest(actor, via)
  if not actor or actor.kind == "guest" then return false, "Guests cannot invite guests." end
  local policy = settings.get("people.guest_policy")
  if policy == "off" then return false, "Guest invitations are turned off for this company." end
  local roles = M.roles(actor.id)
  local hr = has(roles, "hr_admin")
  if via == "directory" and not access.can(actor, "users.invite") then
    return false, "Only administrators can add users in the directory."
  end
  if policy == "hr" then
    if hr then return true end
    return false, "Only HR Admins can invite guests."
  elseif policy == "hr_managers" then
    if hr then return true end
    local reports = db.value("SELECT count(*) FROM users WHERE manager_id = ? AND status <> 'deactivated'", actor.id)
    if reports > 0 then return true end
    return false, "Only HR and managers can invite guests."
  end
  return true -- everyone
end

-- ------------------------------------------------------------------ writing

local function now() return clock.now() end

local function label(u) return u.name .. " <" .. u.email .. ">" end

--- The actor of `candor import` on the command line: whoever runs it owns the data folder, so
--- every permission holds (the company's guest setting still does). Audit entries name it.
M.OPERATOR = { name = "command line", operator = true }

local function can(actor, action) return actor.operator == true or access.can(actor, action) end
local function require_perm(actor, action) if not actor.operator then access.require(actor, action) end end

--- The profile fields an integration keeps now (field -> the integration's name: "name",
--- "email", "job_title", "department", "location", "hire_date", "manager_id"): nobody changes
--- them but that integration (actor, optional: who asks; the integration itself sees none).
--- Asked through the event people.kept_fields (the SFTP feed keeps them while it is on).
function M.kept_fields(actor)
  local e = { actor = actor, fields = {} }
  events.fire("people.kept_fields", e)
  return e.fields
end

local FIELD_WORDS = { name = "The name", email = "The email address", job_title = "The job title",
  department = "The department", location = "The location", hire_date = "The hire date", manager_id = "The manager" }

-- Raises 409 when one of fields (a list) is kept by an integration.
local function require_not_kept(actor, fields)
  local kept = M.kept_fields(actor)
  for _, k in ipairs(fields) do
    if kept[k] then
      errors.conflict(("%s is kept by %s: change it in the file your HR system sends, or a Tech Admin pauses "
        .. "automatic imports first (Administration › SFTP setup)."):format(FIELD_WORDS[k] or k, kept[k]),
        { field = k, kept_by = kept[k] })
    end
  end
end

--- Raises 403 unless actor may give a person the manager manager_id (nil: none). person is the
--- person's row, or nil for someone being created; how they are created: "directory" (the Add
--- Users window, the API) or "import". The one check of every path that sets a reporting line:
---  * an existing person's manager: users.change_manager (HR Admins; HR Assistants while the
---    setting allows it);
---  * the first manager of someone being created: the same, or for the import users.import (a
---    Tech Admin places the people the import creates; never an existing reporting line);
---  * nobody but those who may read review content by their role (HR Admins) makes themselves,
---    or anyone below themselves, someone's manager: reporting lines decide who reads reviews.
--- below_actor (optional): whether the new manager is the actor or below them, when the caller
--- knows the reporting lines better than today's (the import, which changes several at once).
function M.require_manager_choice(actor, person, manager_id, how, below_actor)
  if person then require_not_kept(actor, { "manager_id" }) end
  if actor.operator then return end
  if not access.can(actor, "users.change_manager") then
    local needs = authz.roles_for("users.change_manager")
    if person then
      errors.forbidden(("You cannot change the reporting line of someone already in Candor (that needs: %s)."):format(needs))
    end
    if not (how == "import" and access.can(actor, "users.import")) then
      errors.forbidden("You may add people but not choose their manager (that needs: " .. needs .. ").")
    end
  end
  if (manager_id or below_actor ~= nil) and not access.can(actor, "reviews.read") then
    local below = below_actor
    if below == nil then
      local rel = manager_id ~= actor.id and authz.relation(actor.id, manager_id)
      below = manager_id == actor.id or rel == "direct_manager" or rel == "indirect_manager"
    end
    if below then
      errors.forbidden("You cannot make yourself, or anyone below yourself, someone's manager: reporting lines "
        .. "decide who reads reviews, so an HR Admin sets such a line.")
    end
  end
end

local function check_manager(id, manager_id)
  if manager_id == nil then return nil end
  local m = M.get(manager_id)
  if not m then errors.invalid({ manager_id = "There is no such person." }) end
  if m.kind == "guest" then errors.invalid({ manager_id = "A guest cannot be anyone's manager." }) end
  if m.status == "deactivated" then errors.invalid({ manager_id = "A deactivated person cannot be a manager." }) end
  if id and (manager_id == id or authz.would_loop(id, manager_id)) then
    errors.invalid({ manager_id = "That would make a loop: this person is already above the chosen manager." },
      "That would make a loop in the reporting lines.")
  end
  return m
end

-- The profile fields of a person (create: name and email required).
local function profile_fields(creating, more)
  local fields = {
    { name = schema.text{ required = creating, max = 120, label = "Name", description = "Full name." } },
    { email = schema.email{ required = creating } },
    { job_title = schema.text{ max = 120, description = "Job title." } },
    { department = schema.text{ max = 80, description = "Department." } },
    { location = schema.text{ max = 80, description = "Location." } },
    { hire_date = schema.date{ description = "Hire date." } },
  }
  for _, f in ipairs(more) do fields[#fields + 1] = f end
  return schema.record{ strict = false, fields = fields }
end

local MANAGER_ID = { type = "integer", between = { 1 }, description = "The manager's id (null: none)." }

--- The body of "create a person" (POST /api/users, the Add Users form).
M.CREATE_SCHEMA = profile_fields(true, {
  { kind = { type = "string", one_of = M.KINDS, default = "employee", description = "An employee or a guest." } },
  { manager_id = MANAGER_ID },
  { invite = { type = "boolean", default = false, description = "Send the invitation mail." } },
  { message = schema.text{ max = 2000, multiline = true, description = "A personal note in the invitation." } },
  { roles = { type = "array", elements = { type = "string" }, len_max = 3, default = {}, description = "Roles to grant." } },
})

--- The body of "update a person" (PATCH /api/users/{id}).
M.UPDATE_SCHEMA = profile_fields(false, { { manager_id = MANAGER_ID } })

-- input checked against s; raises 422 naming every field with a problem.
local function checked(s, input)
  local v, errs = schema.validate(s, input or {}, { coerce = true, messages = schema.SENTENCES })
  if not v then errors.invalid(schema.by_field(errs)) end
  return v
end

--- Creates a person (an employee, or a guest when input.kind == "guest").
--- input: email, name, job_title, department, location, hire_date, manager_id, kind, roles,
--- invite (send the invitation mail), message (personal note in it). opts.via is "directory"
--- (the default: the Add Users window) or "nomination" (picking a 360 reviewer on the fly).
--- Returns the new user row.
function M.create(actor, input, req, opts)
  local f = checked(M.CREATE_SCHEMA, input)
  local kind, manager_id, send_invite, message, roles = f.kind, f.manager_id, f.invite, f.message, f.roles
  if kind == "guest" then
    local ok, why = M.may_invite_guest(actor, opts and opts.via or "directory")
    if not ok then errors.forbidden(why) end
    if in_company_domain(f.email) then
      errors.invalid({ email = "Guests need an external email address, not one of the company's domains." })
    end
    if manager_id then errors.invalid({ manager_id = "Guests have no manager." }) end
    if #roles > 0 then errors.invalid({ roles = "Guests cannot hold roles." }) end
  else
    access.require(actor, "users.invite")
    if manager_id then M.require_manager_choice(actor, nil, manager_id, "directory") end
  end
  if M.by_email(f.email) then errors.invalid({ email = "Someone with this email already exists." }) end
  return db.transaction(function()
    check_manager(nil, manager_id)
    local user = M.insert(actor, f, kind, manager_id, req, { invited = send_invite })
    local id = user.id
    if #roles > 0 then M.set_roles(actor, id, roles, req) end
    if send_invite then M.send_invitation(actor, user, message) end
    return user
  end)
end

--- Writes a new person (profile fields f: email, name, job_title, department, location,
--- hire_date), logs and announces it. The caller checked the permission (users.invite for the
--- Add Users window, users.import for the import) and the manager (check_manager). details are
--- added to the audit entry. Returns the user row. Call inside a transaction.
function M.insert(actor, f, kind, manager_id, req, details)
  local t = now()
  local id = db.insert([[INSERT INTO users(email, name, job_title, department, location, hire_date,
      manager_id, status, kind, created_at, updated_at) VALUES(?,?,?,?,?,?,?, 'invited', ?, ?, ?)]],
    f.email, f.name, f.job_title or "", f.department or "", f.location or "", f.hire_date,
    manager_id, kind, t, t)
  local user = M.get(id)
  local d = { kind = kind, manager_id = manager_id }
  for k, v in pairs(details or {}) do d[k] = v end
  audit.record{ action = kind == "guest" and "guest.create" or "user.create", actor = actor, req = req,
    target_type = "user", target_id = id, target_label = label(user), details = d }
  access.sync(id)
  events.fire("person.created", { person_id = id, kind = kind, manager_id = manager_id, actor_id = actor.id })
  return user
end

--- Queues the invitation mail (with the optional personal message).
function M.send_invitation(actor, user, message)
  local link = accounts.invitation_link(user, actor)
  mail.queue{
    template = user.kind == "guest" and "guest.invite" or "user.invite",
    to = user, vars = { inviter = actor and actor.name or "Your HR team", message = message, link = link,
      company = settings.get("company.name") },
    related_type = "user", related_id = user.id,
  }
  events.fire("person.invited", { person_id = user.id, actor_id = actor and actor.id })
end

--- Updates profile fields (name, job title, department, location, hire date, email) and
--- the manager. Each kind of change needs its own permission.
function M.update(actor, id, input, req)
  local user = M.require(id)
  local f = checked(M.UPDATE_SCHEMA, input)
  local manager_given = input.manager_id ~= nil
  local manager_id = f.manager_id
  local changes = {}
  for _, k in ipairs({ "name", "job_title", "department", "location", "hire_date" }) do
    if f[k] ~= nil and f[k] ~= user[k] then changes[k] = f[k] end
  end
  M.require_profile_edit(actor, user, changes)
  if f.email and f.email ~= user.email:lower() then
    access.require(actor, "users.change_email")
    if user.kind ~= "guest" then require_not_kept(actor, { "email" }) end
    if M.by_email(f.email) then errors.invalid({ email = "Someone with this email already exists." }) end
    if user.kind == "guest" and in_company_domain(f.email) then
      errors.invalid({ email = "Guests need an external email address, not one of the company's domains." })
    end
    changes.email = f.email
  end
  return db.transaction(function()
    if manager_given and manager_id ~= user.manager_id then
      M.set_manager(actor, id, manager_id, req)
    end
    if next(changes) then M.write_profile(actor, user, changes, req) end
    return M.get(id)
  end)
end

--- Raises 403 unless actor may change these profile fields (field -> value, not the email) of
--- user: HR's roles for others (a guest's profile with users.convert_guest); people keep their
--- own name current, the rest is HR's.
function M.require_profile_edit(actor, user, changes)
  if not next(changes) then return end
  local keys = {}
  for k in pairs(changes) do keys[#keys + 1] = k end
  table.sort(keys)
  if actor.id ~= user.id then
    require_perm(actor, user.kind == "guest" and "users.convert_guest" or "users.edit")
  else
    for _, k in ipairs(keys) do
      if k ~= "name" and not can(actor, "users.edit") then
        errors.forbidden("Ask HR to change your " .. k:gsub("_", " ") .. ".")
      end
    end
  end
  if user.kind ~= "guest" then require_not_kept(actor, keys) end
end

--- Writes profile changes (field -> value; checked by the caller), logs and announces them.
--- details are added to the audit entry. Call inside a transaction.
function M.write_profile(actor, user, changes, req, details)
  local keys = {}
  for k in pairs(changes) do keys[#keys + 1] = k end
  table.sort(keys)
  local sets, args = {}, {}
  for _, k in ipairs(keys) do sets[#sets + 1] = k .. " = ?"; args[#args + 1] = changes[k] end
  args[#args + 1] = now()
  args[#args + 1] = user.id
  db.exec("UPDATE users SET " .. table.concat(sets, ", ") .. ", updated_at = ? WHERE id = ?", table.unpack(args))
  local d = { fields = keys }
  for k, v in pairs(details or {}) do d[k] = v end
  audit.record{ action = "user.update", actor = actor, req = req, target_type = "user", target_id = user.id,
    target_label = label(user), details = d }
  events.fire("person.updated", { person_id = user.id, fields = keys, actor_id = actor.id })
end

--- Sets (or clears, with nil) a person's manager; refuses loops. opts (optional): new_via =
--- "import" when the person was just created by an import (their first manager: see
--- require_manager_choice), details = added to the audit entry.
function M.set_manager(actor, id, manager_id, req, opts)
  opts = opts or {}
  local user = M.require(id)
  M.require_manager_choice(actor, not opts.new_via and user or nil, manager_id, opts.new_via)
  if user.kind == "guest" then errors.invalid({ manager_id = "Guests have no manager." }) end
  return db.transaction(function()
    check_manager(id, manager_id)
    db.exec("UPDATE users SET manager_id = ?, updated_at = ? WHERE id = ?", manager_id, now(), id)
    local d = { from = user.manager_id, to = manager_id }
    for k, v in pairs(opts.details or {}) do d[k] = v end
    audit.record{ action = "user.manager", actor = actor, req = req, target_type = "user", target_id = id,
      target_label = label(user), details = d }
    access.sync(id)
    events.fire("person.manager_changed", { person_id = id, from_manager_id = user.manager_id,
      to_manager_id = manager_id, actor_id = actor.id })
    return M.get(id)
  end)
end

local STATUS_ACTIONS = {
  deactivate = { to = "deactivated", perm = "users.deactivate", audit = "user.deactivate", event = "person.deactivated" },
  reactivate = { to = "active", perm = "users.deactivate", audit = "user.reactivate", event = "person.reactivated" },
  lock = { to = "locked", perm = "users.lock", audit = "user.lock", event = "person.locked" },
  unlock = { to = "active", perm = "users.lock", audit = "user.unlock", event = "person.unlocked" },
}

--- Changes a person's status: op is deactivate | reactivate | lock | unlock.
function M.set_status(actor, id, op, req)
  local spec = STATUS_ACTIONS[op]
  if not spec then errors.bad_request("Unknown action " .. tostring(op)) end
  local user = M.require(id)
  access.require(actor, spec.perm)
  if (op == "deactivate" or op == "lock") then
    if user.id == actor.id then errors.conflict("You cannot " .. op .. " your own account.") end
    if is_last_super(user.id) then
      errors.conflict("This is the last super user (HR Admin + Tech Admin): make someone else a super user first.")
    end
  end
  if op == "unlock" and user.status ~= "locked" then errors.conflict("This account is not locked.") end
  if op == "reactivate" and user.status ~= "deactivated" then errors.conflict("This account is not deactivated.") end
  if op == "lock" and user.status == "deactivated" then errors.conflict("A deactivated account cannot be locked.") end
  return db.transaction(function()
    db.exec("UPDATE users SET status = ?, updated_at = ? WHERE id = ?", spec.to, now(), id)
    if spec.to ~= "active" then
      db.exec("DELETE FROM sessions WHERE user_id = ?", id) -- ends their sessions at once
    end
    audit.record{ action = spec.audit, actor = actor, req = req, target_type = "user", target_id = id,
      target_label = label(user), details = { from = user.status, to = spec.to } }
    access.sync(id)
    events.fire(spec.event, { person_id = id, from_status = user.status, actor_id = actor.id })
    return M.get(id)
  end)
end

--- Deletes a person for good (their reports move up to their manager).
function M.delete(actor, id, req)
  local user = M.require(id)
  access.require(actor, "users.delete")
  if user.id == actor.id then errors.conflict("You cannot delete your own account.") end
  if is_last_super(user.id) then
    errors.conflict("This is the last super user (HR Admin + Tech Admin): make someone else a super user first.")
  end
  return db.transaction(function()
    local reports = db.column("SELECT id FROM users WHERE manager_id = ?", id)
    db.exec("UPDATE users SET manager_id = ?, updated_at = ? WHERE manager_id = ?", user.manager_id, now(), id)
    db.exec("DELETE FROM users WHERE id = ?", id)
    audit.record{ action = "user.delete", actor = actor, req = req, target_type = "user", target_id = id,
      target_label = label(user), details = { kind = user.kind, reports_moved_to = user.manager_id, reports = #reports } }
    access.sync(id)
    for _, rid in ipairs(reports) do access.sync(rid) end
    events.fire("person.deleted", { person_id = id, reports_moved_to = user.manager_id, actor_id = actor.id })
    return true
  end)
end


--- Replaces a person's roles with the given list. Granting and revoking follow the same
--- rules (who may grant what, in policies/roles.lua); the last super user keeps theirs.
--- Returns the new roles and a list of notes (e.g. the redundant HR Admin + HR Assistant).
function M.set_roles(actor, id, roles, req, details)
  local user = M.require(id)
  local want = {}
  for _, r in ipairs(roles) do
    if not access.grant_action(r) then errors.invalid({ roles = "Unknown role " .. tostring(r) .. "." }) end
    want[r] = true
  end
  if user.kind == "guest" and next(want) then errors.invalid({ roles = "Guests cannot hold roles." }) end
  if user.status == "deactivated" and next(want) then
    errors.conflict("Reactivate this person before giving them a role.")
  end
  local current = M.roles(id)
  local have = {}
  for _, r in ipairs(current) do have[r] = true end
  local grant, revoke = {}, {}
  for _, r in ipairs(access.ROLE_LIST) do
    if want[r] and not have[r] then grant[#grant + 1] = r end
    if have[r] and not want[r] then revoke[#revoke + 1] = r end
  end
  for _, r in ipairs(grant) do
    if not can(actor, access.grant_action(r)) then
      errors.forbidden(("You cannot grant the %s role (that needs: %s)."):format(access.ROLE_NAMES[r],
        authz.roles_for(access.grant_action(r))))
    end
  end
  for _, r in ipairs(revoke) do
    if not can(actor, access.grant_action(r)) then
      errors.forbidden(("You cannot revoke the %s role (that needs: %s)."):format(access.ROLE_NAMES[r],
        authz.roles_for(access.grant_action(r))))
    end
    if (r == "hr_admin" or r == "tech_admin") and is_last_super(id) then
      errors.conflict("There must always be a super user (HR Admin + Tech Admin): this is the last one, "
        .. "so their roles cannot be revoked. Make someone else a super user first.")
    end
  end
  local notes = {}
  if want.hr_admin and want.hr_assistant then
    notes[#notes + 1] = "HR Admin already includes everything HR Assistant can do; holding both is redundant."
  end
  if #grant == 0 and #revoke == 0 then return current, notes end
  db.transaction(function()
    local t = now()
    for _, r in ipairs(grant) do
      db.exec("INSERT INTO user_roles(user_id, role, granted_by, granted_at) VALUES(?,?,?,?)", id, r, actor.id, t)
    end
    for _, r in ipairs(revoke) do
      db.exec("DELETE FROM user_roles WHERE user_id = ? AND role = ?", id, r)
    end
    db.exec("UPDATE sessions SET rotate = 1 WHERE user_id = ?", id) -- new session token on next request
    local d = { granted = grant, revoked = revoke }
    for k, v in pairs(details or {}) do d[k] = v end
    audit.record{ action = "user.roles", actor = actor, req = req, target_type = "user", target_id = id,
      target_label = label(user), details = d }
    access.sync(id)
    events.fire("person.roles_changed", { person_id = id, granted = grant, revoked = revoke, actor_id = actor.id })
  end)
  return M.roles(id), notes
end

--- Turns a guest into a regular employee ("graduating" them).
function M.convert_guest(actor, id, req, details)
  local user = M.require(id)
  require_perm(actor, "users.convert_guest")
  if user.kind ~= "guest" then errors.conflict("This person is not a guest.") end
  return db.transaction(function()
    db.exec("UPDATE users SET kind = 'employee', updated_at = ? WHERE id = ?", now(), id)
    audit.record{ action = "guest.convert", actor = actor, req = req, target_type = "user", target_id = id,
      target_label = label(user), details = details }
    access.sync(id)
    events.fire("person.guest_converted", { person_id = id, actor_id = actor.id })
    return M.get(id)
  end)
end

-- ------------------------------------------------------------------ import

--- Maps roles from an import file, including the old single "Admin" role:
--- Admin alone -> Tech Admin + HR Assistant; HR Admin + Admin -> HR Admin + Tech Admin.
function M.map_imported_roles(names)
  local set, by_label = {}, { ["technical admin"] = "tech_admin" }
  for _, r in ipairs(access.ROLE_LIST) do
    by_label[access.ROLE_NAMES[r]:lower()] = r
    by_label[r:gsub("_", " ")] = r
  end
  for _, n in ipairs(names) do
    local k = util.trim(n):lower():gsub("[%s_%-]+", " ")
    if by_label[k] then set[by_label[k]] = true
    elseif k == "admin" then set.old_admin = true
    elseif k ~= "" then return nil, "unknown role '" .. n .. "'" end
  end
  if set.old_admin then
    set.old_admin = nil
    if set.hr_admin then
      set.tech_admin = true
    else
      set.tech_admin, set.hr_assistant = true, true
    end
  end
  if set.hr_admin then set.hr_assistant = nil end -- redundant under HR Admin
  local out = {}
  for _, r in ipairs(access.ROLE_LIST) do if set[r] then out[#out + 1] = r end end
  return out
end

function M.init(app)
  settings.define("people.guest_policy", { type = "string", one_of = M.GUEST_POLICIES, default = "hr",
    description = "Who can invite guests (external reviewers)." })
  settings.define("people.assistant_can_change_manager", { type = "boolean", default = false,
    description = "Allow HR Assistants to pick a person's manager." })
  settings.define("company.domains", { type = "array", elements = { type = "string" }, default = {},
    description = "The company's own email domains; guests must use other addresses.",
    custom_validator = function(list)
      for _, d in ipairs(list) do
        if not d:match("^[%w%-]+%.[%w%.%-]+$") then return false, "'" .. d .. "' is not a domain name" end
      end
      return true
    end })
  authz.set_flag("people.assistant_can_change_manager", settings.get("people.assistant_can_change_manager"))
  events.hook("settings.changed", function(e)
    if e.name == "people.assistant_can_change_manager" then
      authz.set_flag(e.name, settings.get(e.name))
    end
  end)
  -- the policy's guests.invite row: HR Admins add guests unless guest invitations are off
  authz.set_flag("guests.hr_can_invite", settings.get("people.guest_policy") ~= "off")
  events.hook("settings.changed", function(e)
    if e.name == "people.guest_policy" then authz.set_flag("guests.hr_can_invite", settings.get(e.name) ~= "off") end
  end)
end

return M
