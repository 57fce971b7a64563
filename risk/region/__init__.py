"""The region as a whole: how theatres move together, and the actor groups that link them."""
