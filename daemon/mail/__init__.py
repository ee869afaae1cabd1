"""Mail content: template context, rendering (Jinja2 + Markdown), later invites and inbound."""
