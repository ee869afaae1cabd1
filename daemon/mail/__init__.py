"""Composing mail (pure): template context, rendering (Jinja2 + Markdown), the MIME message,
iMIP invitations, and outbox rows from what a pass decided."""
