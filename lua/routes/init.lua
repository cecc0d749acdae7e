-- Route modules, in registration order. Each returns { routes = function(router, app) }.
return {
  "home",
  "session",
  "people",
  "admin",
  "mail_admin",
  "integrations",
  "account",
  "security_admin",
  "cycles",
  "reviews",
  "import",
  "workflows",
  "messages",
  "praise_admin",
  "one_on_ones",
  "objectives",
}
