-- The roles of Candor, declared once. Everything else reads them from here: the permission
-- evaluator (core.authz.roles(), role i is the bit 1 << i), the columns of roles.lua, the role
-- names workflow scripts use in `by`, the pages that grant roles. Pure data, validated at start
-- (policies/README.md).
--
-- roles: a person holds any of them (they add up). cycle_roles: what someone may be in one
-- review cycle only; within that cycle they count as also holding the roles in acts_as.
return {
  roles = {
    { name = "hr_admin", label = "HR Admin", plural = "HR Admins",
      description = "Sets up and runs review processes, changes reporting lines and reads confidential content "
        .. "(never of people above them in their own chain). Keep this to a few people." },
    { name = "hr_assistant", label = "HR Assistant", plural = "HR Assistants",
      description = "Creates and edits cycles, adds reviewees, tracks status and sends reminders — without access "
        .. "to confidential content." },
    { name = "tech_admin", label = "Tech Admin", plural = "Tech Admins",
      description = "Integrations, security settings, API tokens and the user import. No access to confidential "
        .. "content." },
  },
  cycle_roles = {
    { name = "admin", label = "Cycle admin", plural = "admins of the cycle", acts_as = { "hr_admin" },
      description = "Runs one cycle as an HR Admin would, for that cycle only." },
    { name = "assistant", label = "Cycle assistant", plural = "assistants of the cycle", acts_as = { "hr_assistant" },
      description = "Helps run one cycle as an HR Assistant would, for that cycle only." },
  },
}
