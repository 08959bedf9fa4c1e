"""Request-level plumbing named in settings: middleware, security helpers, deploy checks."""
