//! Cursor paging shared by the admin lists (users, sign-ins, refusal counts, audit): newest
//! first by id, `before` = the last id of the previous page.
use super::{AdminError, invalid};

/// The largest page of any admin list.
pub const MAX_LIMIT: i64 = 200;

pub fn check_limit(limit: i64) -> Result<i64, AdminError> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ))
    }
}

pub fn check_cursor(field: &'static str, cursor: Option<i64>) -> Result<Option<i64>, AdminError> {
    match cursor {
        Some(c) if c < 1 => Err(invalid(field, "must be an id from the previous page")),
        other => Ok(other),
    }
}

/// Cuts a page loaded with `limit + 1` rows to `limit` and says where the next one starts.
pub fn finish<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(id) } else { None };
    (rows, next)
}
