-- Services with an init(app) (settings, job handlers, hooks), run once at start in this order.
return {
  "settings",
  "access",
  "people",
  "accounts",
  "sessions",
  "server_limits",
  "twostep",
  "mail",
  "delivery",
  "workflows",
  "reviews",
  "dashboard",
  "messages",
  "feedback_requests",
  "wall",
}
