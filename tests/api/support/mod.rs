//! What many test files share: the app's clock, polling, the SAML sign-in, and the fake
//! outside world (IWMS receiver, canary listener, the Chromium driver).
pub mod browser;
pub mod canary;
pub mod clock;
pub mod iwms_receiver;
pub mod poll;
pub mod sign_in;
