//! Flag conventions shared by the commands.

/// An optional setting from `--x VALUE` / `--clear-x`: None keeps it, Some(None) clears it.
pub(super) fn set_or_clear(value: Option<String>, clear: bool) -> Option<Option<String>> {
    if clear { Some(None) } else { value.map(Some) }
}
