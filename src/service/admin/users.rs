//! Users, their timelines and sign-in history, for the admin console and API.
