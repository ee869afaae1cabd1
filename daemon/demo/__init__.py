"""`mentormail demo`: a shipped program rehearsed on a virtual clock against embedded servers."""
