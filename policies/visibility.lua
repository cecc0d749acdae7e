-- Visibility presets for cycles: who sees a review or a 360's feedback, and from which stage on
-- (objectives have levels of their own, rows of roles.lua: policies/README.md). A cycle picks a
-- preset (and may adjust it); its settings then supersede the HR roles (seed 003, "Limitations on
-- HR Admins and Assistants"). Pure data, validated at start.
--
-- kind: review | feedback. Parties: self (the person it is about), direct_manager,
-- indirect_manager (any manager further up), hr (people whose role allows the action, e.g. HR
-- Admins for reading content), reviewer (nominated reviewers). Levels: never, always,
-- after_submit, after_release, after_share, after_sign (stages: draft < submitted < released <
-- shared < signed).
-- Whatever the level, nobody reads confidential data of someone above them in their own chain.
return {
  ---------------------------------------------------------------- performance reviews
  { kind = "review", name = "standard", label = "Standard",
    description = "Managers up the line and HR read the review as it is written; the reviewee reads the "
      .. "manager's review once it is shared with them.",
    self = "after_share", direct_manager = "always", indirect_manager = "always", hr = "always",
    reviewer = "never" },
  { kind = "review", name = "private", label = "Private to the direct manager",
    description = "Like Standard, but managers further up the line never see it: only the reviewee, "
      .. "their direct manager and HR.",
    self = "after_share", direct_manager = "always", indirect_manager = "never", hr = "always",
    reviewer = "never" },
  { kind = "review", name = "after_sign", label = "HR after signing",
    description = "HR reads reviews only once both sides have signed; managers up the line once shared.",
    self = "after_share", direct_manager = "always", indirect_manager = "after_share", hr = "after_sign",
    reviewer = "never" },
  { kind = "review", name = "without_hr", label = "Between employee and managers",
    description = "A conversation record that stays between the reviewee and their managers: HR roles "
      .. "see the status, never the content.",
    self = "after_share", direct_manager = "always", indirect_manager = "always", hr = "never",
    reviewer = "never" },

  ---------------------------------------------------------------- 360 feedback
  -- A reviewer's feedback is a draft while they write, "submitted" once they share it, "released"
  -- when the cycle releases it to the managers (as each reviewer shares, or on a date) and
  -- "shared" when it is released to the reviewee (on a date, or early by the manager). A 360
  -- cycle ticks its readers (reviewee, direct manager, managers higher up) and the 360 service
  -- builds these same levels from them; the presets are the common combinations.
  { kind = "feedback", name = "managers_see", label = "Reviewee and managers",
    description = "The reviewee reads the feedback once it is released to them, their managers up the line "
      .. "once it is released to managers, HR Admins once the reviewer shared it.",
    self = "after_share", direct_manager = "after_release", indirect_manager = "after_release",
    hr = "after_submit", reviewer = "never" },
  { kind = "feedback", name = "reviewee_and_direct_manager", label = "Reviewee and direct manager",
    description = "Like Reviewee and managers, but managers further up the line never read it.",
    self = "after_share", direct_manager = "after_release", indirect_manager = "never",
    hr = "after_submit", reviewer = "never" },
  { kind = "feedback", name = "direct_manager_only", label = "Direct manager only",
    description = "Only the direct manager (and HR) read it; the reviewee and managers further up do not. "
      .. "An HR Admin cannot read feedback about themselves in such a cycle.",
    self = "never", direct_manager = "after_release", indirect_manager = "never", hr = "after_submit",
    reviewer = "never" },
  { kind = "feedback", name = "reviewee_only", label = "For the reviewee (managers cannot see)",
    description = "Feedback for the reviewee's own development: managers never see it, not even a "
      .. "manager who is an HR Admin.",
    self = "after_share", direct_manager = "never", indirect_manager = "never", hr = "after_submit",
    reviewer = "never" },
  { kind = "feedback", name = "nobody_but_hr", label = "Nobody but HR",
    description = "Collected for HR Admins alone: neither the reviewee nor any manager reads it.",
    self = "never", direct_manager = "never", indirect_manager = "never", hr = "after_submit",
    reviewer = "never" },
}
