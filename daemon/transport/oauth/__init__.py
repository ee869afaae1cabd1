"""OAuth2 for the mail servers: grants on disk, live access tokens, SASL responses, and the
one-time sign-in (`mentormail login`)."""
