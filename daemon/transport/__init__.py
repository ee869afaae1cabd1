"""The mail servers: SMTP (aiosmtplib) with its outcome table and rate limit; IMAP (aioimaplib)."""
